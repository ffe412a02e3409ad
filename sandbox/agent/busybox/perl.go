package busybox

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// bpiProgram matches the Kubernetes documentation's Job example: perl -Mbignum=bpi -wle 'print bpi(2000)'.
var bpiProgram = regexp.MustCompile(`^\s*print\s+bpi\(\s*(\d+)\s*\)\s*;?\s*$`)

// perl runs only the one perl program Kubernetes courses use (the pi Job of the documentation); any other
// program is refused with a clear message.
func perl(p *proc) int {
	prog := ""
	for i := 0; i < len(p.args); i++ {
		a := p.args[i]
		switch {
		case a == "-e" || a == "-E":
			if i+1 < len(p.args) {
				prog = p.args[i+1]
				i++
			}
		case strings.HasPrefix(a, "-") && strings.HasSuffix(a, "e") && !strings.HasPrefix(a, "-M"):
			if i+1 < len(p.args) {
				prog = p.args[i+1]
				i++
			}
		}
	}
	m := bpiProgram.FindStringSubmatch(prog)
	if m == nil {
		p.errf("only `perl -Mbignum=bpi -wle 'print bpi(N)'` is available in the klab sandbox")
		return 2
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 || n > 100000 {
		p.errf("bpi(%s): out of range", m[1])
		return 2
	}
	fmt.Fprintln(p.out(), piDigits(n))
	return 0
}

// piDigits returns pi with n significant digits, rounded like Math::BigFloat: "3.14159…".
func piDigits(n int) string {
	guard := 10
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n+guard)), nil)
	arctan := func(x int64) *big.Int { // scale * arctan(1/x)
		sum := new(big.Int)
		term := new(big.Int).Div(scale, big.NewInt(x))
		x2 := big.NewInt(x * x)
		for k := int64(0); term.Sign() != 0; k++ {
			t := new(big.Int).Div(term, big.NewInt(2*k+1))
			if k%2 == 0 {
				sum.Add(sum, t)
			} else {
				sum.Sub(sum, t)
			}
			term.Div(term, x2)
		}
		return sum
	}
	pi := new(big.Int).Mul(big.NewInt(16), arctan(5))
	pi.Sub(pi, new(big.Int).Mul(big.NewInt(4), arctan(239)))
	// pi*10^(n+guard-1)... keep n significant digits with rounding.
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(guard+1)), nil)
	half := new(big.Int).Div(div, big.NewInt(2))
	pi.Add(pi, half)
	pi.Div(pi, div)
	s := pi.String()
	if len(s) <= 1 {
		return s
	}
	return s[:1] + "." + s[1:]
}
