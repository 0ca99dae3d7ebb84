// helm-template renders a Helm chart's templates the way `helm template` does, for charts that use
// only the functions below: this machine has no `helm` binary and no route to download one, but it
// has Debian's Go, whose text/template is the engine Helm itself runs. Used by the e2e test
// test/e2e/helm-chart.test.ts, which parses the output and dry-runs it against a real apiserver.
//
//	helm-template CHART_DIR < context.json > rendered.yaml
//
// context.json: {"Values": {...}, "Release": {...}, "Chart": {...}} (the caller merges values.yaml
// with overrides and reads Chart.yaml). As in Helm: every file in templates/ is parsed into one
// set; files whose name starts with "_" only define templates; a missing key renders as empty
// (missingkey=zero, "<no value>" removed); each rendered file is preceded by "# Source: ...".
// Functions: Helm's include, toYaml, toJson, required, and sprig's nindent, indent, quote,
// ternary, default. toYaml writes JSON, which is YAML (flow style): the same data, other layout.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func empty(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case float64:
		return x == 0
	case []interface{}:
		return len(x) == 0
	case map[string]interface{}:
		return len(x) == 0
	}
	return false
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: helm-template CHART_DIR < context.json")
		os.Exit(2)
	}
	dir := os.Args[1]
	var ctx map[string]interface{}
	if err := json.NewDecoder(os.Stdin).Decode(&ctx); err != nil {
		fmt.Fprintln(os.Stderr, "context:", err)
		os.Exit(2)
	}
	chartName := fmt.Sprint(ctx["Chart"].(map[string]interface{})["Name"])
	t := template.New(chartName).Option("missingkey=zero")
	t.Funcs(template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			var b bytes.Buffer
			err := t.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"toYaml": func(v interface{}) string {
			b, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(b)
		},
		"toJson": func(v interface{}) string {
			b, _ := json.Marshal(v)
			return string(b)
		},
		"required": func(msg string, v interface{}) (interface{}, error) {
			if v == nil || v == "" {
				return nil, fmt.Errorf("%s", msg)
			}
			return v, nil
		},
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"indent":  indent,
		"quote": func(args ...interface{}) string {
			out := make([]string, 0, len(args))
			for _, a := range args {
				if a != nil {
					out = append(out, fmt.Sprintf("%q", fmt.Sprint(a)))
				}
			}
			return strings.Join(out, " ")
		},
		"ternary": func(vt, vf interface{}, cond bool) interface{} {
			if cond {
				return vt
			}
			return vf
		},
		"default": func(d interface{}, given ...interface{}) interface{} {
			if len(given) == 0 || empty(given[0]) {
				return d
			}
			return given[0]
		},
	})
	files, _ := filepath.Glob(filepath.Join(dir, "templates", "*"))
	sort.Strings(files)
	var render []string
	for _, f := range files {
		base := filepath.Base(f)
		ext := filepath.Ext(base)
		if ext != ".yaml" && ext != ".yml" && ext != ".tpl" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		name := chartName + "/templates/" + base
		if _, err := t.New(name).Parse(string(src)); err != nil {
			fmt.Fprintln(os.Stderr, "parse:", err)
			os.Exit(1)
		}
		if !strings.HasPrefix(base, "_") && ext != ".tpl" {
			render = append(render, name)
		}
	}
	var out bytes.Buffer
	for _, name := range render {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name, ctx); err != nil {
			fmt.Fprintln(os.Stderr, "render:", err)
			os.Exit(1)
		}
		s := strings.TrimSpace(strings.ReplaceAll(b.String(), "<no value>", ""))
		if s == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, s)
	}
	os.Stdout.Write(out.Bytes())
}
