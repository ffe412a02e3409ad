package warm

import (
	_ "github.com/adrg/xdg"
	_ "github.com/charmbracelet/bubbles/viewport"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/glamour"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/charmbracelet/x/exp/teatest"
	_ "github.com/creack/pty"
	_ "github.com/google/cel-go/cel"
	_ "github.com/spf13/cobra"
	_ "github.com/yuin/goldmark"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/client-go/dynamic"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "mvdan.cc/sh/v3/interp"
	_ "sigs.k8s.io/yaml"
)
