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
// ternary, default, trunc, trimSuffix, sha256sum. toYaml writes block YAML like Helm's (keys
// sorted, no trailing newline; every string double-quoted, JSON-style, which YAML reads the same),
// so `toYaml .Values.list | nindent N` continues a list as it does under Helm.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// yamlScalar writes a JSON-decoded scalar; JSON's quoted strings, numbers, true/false/null are YAML.
func yamlScalar(v interface{}) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// toYaml writes v as block YAML (Helm's toYaml trims the final newline too).
func toYaml(v interface{}) string {
	var b strings.Builder
	writeYaml(&b, v, "")
	return strings.TrimSuffix(b.String(), "\n")
}

func writeYaml(b *strings.Builder, v interface{}, pad string) {
	switch x := v.(type) {
	case map[string]interface{}:
		if len(x) == 0 {
			b.WriteString(pad + "{}\n")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			writeEntry(b, pad+yamlScalar(k)+":", x[k], pad+"  ")
		}
	case []interface{}:
		if len(x) == 0 {
			b.WriteString(pad + "[]\n")
			return
		}
		for _, e := range x {
			writeEntry(b, pad+"-", e, pad+"  ")
		}
	default:
		b.WriteString(pad + yamlScalar(x) + "\n")
	}
}

// writeEntry writes "key:" or "-" and its value: a scalar or empty collection on the same line, a
// mapping or list below it, indented (a list item's mapping starts on the "-" line).
func writeEntry(b *strings.Builder, head string, v interface{}, pad string) {
	switch x := v.(type) {
	case map[string]interface{}:
		if len(x) > 0 {
			var inner strings.Builder
			writeYaml(&inner, x, pad)
			s := inner.String()
			if strings.HasSuffix(head, "-") {
				b.WriteString(head + " " + strings.TrimPrefix(s, pad))
			} else {
				b.WriteString(head + "\n" + s)
			}
			return
		}
	case []interface{}:
		if len(x) > 0 {
			b.WriteString(head + "\n")
			writeYaml(b, x, pad)
			return
		}
	}
	var inner strings.Builder
	writeYaml(&inner, v, "")
	b.WriteString(head + " " + inner.String())
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
		"toYaml": toYaml,
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
		// sprig: trunc 63 keeps the first 63 bytes; a negative count keeps the last ones.
		"trunc": func(c int, s string) string {
			if c < 0 && len(s)+c > 0 {
				return s[len(s)+c:]
			}
			if c >= 0 && len(s) > c {
				return s[:c]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"sha256sum": func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
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
