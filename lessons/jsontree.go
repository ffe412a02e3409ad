package lessons

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jnode is a JSON value with the byte offset where it starts, so that every
// problem found while interpreting index.json can name its line and column.
type jnode struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	off   int
	keys  []jkey
	elems []*jnode
	str   string
	num   json.Number
	b     bool
}

type jkey struct {
	name string
	off  int // offset of the key's opening quote
	val  *jnode
}

func (n *jnode) kindName() string {
	switch n.kind {
	case 'o':
		return "an object"
	case 'a':
		return "an array"
	case 's':
		return "a string"
	case 'n':
		return "a number"
	case 'b':
		return "a boolean"
	default:
		return "null"
	}
}

// get returns the value of key in an object node (nil if absent).
func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for _, k := range n.keys {
		if k.name == key {
			return k.val
		}
	}
	return nil
}

const maxJSONDepth = 64

// jsonError is a JSON syntax problem at a byte offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return e.msg }

// parseJSONTree parses data into a jnode tree, recording offsets.
func parseJSONTree(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &jparser{dec: dec, data: data}
	root, err := p.value(0)
	if err != nil {
		return nil, err
	}
	off := int(dec.InputOffset())
	for off < len(data) && (data[off] == ' ' || data[off] == '\t' || data[off] == '\r' || data[off] == '\n') {
		off++
	}
	if off < len(data) {
		return nil, &jsonError{off: off, msg: "unexpected data after the top-level JSON value"}
	}
	return root, nil
}

type jparser struct {
	dec  *json.Decoder
	data []byte
}

// start is the offset of the next token: the decoder's offset after the
// previous token, past blanks and the ':' or ',' delimiters.
func (p *jparser) start() int {
	i := int(p.dec.InputOffset())
	for i < len(p.data) {
		switch p.data[i] {
		case ' ', '\t', '\r', '\n', ':', ',':
			i++
			continue
		}
		break
	}
	return i
}

func (p *jparser) token() (json.Token, int, error) {
	off := p.start()
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			o := int(se.Offset) - 1
			if o < off {
				o = off
			}
			return nil, o, &jsonError{off: o, msg: se.Error()}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, len(p.data), &jsonError{off: len(p.data), msg: "unexpected end of JSON input"}
		default:
			return nil, off, &jsonError{off: off, msg: err.Error()}
		}
	}
	return tok, off, nil
}

func (p *jparser) value(depth int) (*jnode, error) {
	tok, off, err := p.token()
	if err != nil {
		return nil, err
	}
	return p.fromToken(tok, off, depth)
}

func (p *jparser) fromToken(tok json.Token, off, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, &jsonError{off: off, msg: fmt.Sprintf("JSON nested deeper than %d levels", maxJSONDepth)}
	}
	n := &jnode{off: off}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = 'o'
			for p.dec.More() {
				ktok, koff, err := p.token()
				if err != nil {
					return nil, err
				}
				name, ok := ktok.(string)
				if !ok {
					return nil, &jsonError{off: koff, msg: "object key must be a string"}
				}
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, jkey{name: name, off: koff, val: v})
			}
			if _, _, err := p.token(); err != nil { // '}'
				return nil, err
			}
		case '[':
			n.kind = 'a'
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
			if _, _, err := p.token(); err != nil { // ']'
				return nil, err
			}
		default:
			return nil, &jsonError{off: off, msg: fmt.Sprintf("unexpected %q", rune(t))}
		}
	case string:
		n.kind, n.str = 's', t
	case json.Number:
		n.kind, n.num = 'n', t
	case bool:
		n.kind, n.b = 'b', t
	case nil:
		n.kind = 'z'
	}
	return n, nil
}
