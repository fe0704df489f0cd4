package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the yaml.Node tree of a file and the Go type it fills
// side by side, driven by the types' yaml struct tags, so that a new field
// with a yaml tag in Config or feed.Feed is understood without a change
// here. Unlike yaml.Decoder with KnownFields, it goes on after a problem,
// reports every unknown key with a suggestion, names keys by their path
// and records the line of every key for the validation that follows.

// maxNodes bounds the work of one file: aliases can make a small file
// expand to a huge tree ("billion laughs"); a real config has a few
// thousand nodes.
const maxNodes = 1 << 18

type decoder struct {
	file   string
	line   map[string]int // key path -> line, filled in as keys are read
	errs   []*Error
	bad    []string // paths of values that could not be read
	budget int      // nodes left to visit
}

func (d *decoder) errorf(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// badValue reports a value that could not be read; validation then says
// nothing more about it.
func (d *decoder) badValue(line int, path, format string, args ...any) {
	d.bad = append(d.bad, path)
	d.errorf(line, path, format, args...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns an error of the YAML parser into an *Error.
func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		d.errorf(n, "", "YAML syntax: %s", m[2])
		return
	}
	d.errorf(0, "", "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
}

// parseNode reads the next document of dec, turning a panic of the YAML
// library (there should be none) into an error rather than a crash of
// whoever loads the config.
func parseNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: internal error reading the file: %v", r)
		}
	}()
	return dec.Decode(n)
}

// decodeFile decodes data onto c. It returns false when the file could not
// be read as a whole (a syntax error, not a mapping), so that there is
// nothing to validate.
func (d *decoder) decodeFile(data []byte, c *Config) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := parseNode(dec, &doc); {
	case errors.Is(err, io.EOF):
		return true // an empty file: all defaults
	case err != nil:
		d.syntaxError(err)
		return false
	}
	var more yaml.Node
	switch err := parseNode(dec, &more); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(err)
		return false
	default:
		d.errorf(more.Line, "", "a second YAML document (after ---); put the whole configuration in one document")
		return false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return true
	}
	root := d.deref(doc.Content[0], "")
	if root == nil || isNull(root) {
		return root != nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "want a mapping of keys at the top (data_dir:, database:, feeds: ...), got %s", describe(root))
		return false
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	return d.budget >= 0
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// deref follows an alias to the node it names.
func (d *decoder) deref(n *yaml.Node, path string) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || n.Alias.Kind == yaml.AliasNode {
			d.badValue(n.Line, path, "alias *%s names nothing", n.Value)
			return nil
		}
		return n.Alias
	}
	return n
}

// spend takes one node from the budget and reports whether any was left.
func (d *decoder) spend(n *yaml.Node) bool {
	d.budget--
	if d.budget == -1 {
		d.errorf(n.Line, "", "the file expands (through aliases) to more than %d values; simplify it", maxNodes)
	}
	return d.budget >= 0
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	secretType      = reflect.TypeFor[Secret]()
)

// decode stores the value of n in v; path names v in messages. A null
// value leaves v as it is (its default).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n, path); n == nil || !d.spend(n) || isNull(n) {
		return
	}
	t := v.Type()
	if t != secretType && v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		// A type that reads itself checks its own keys.
		if err := n.Decode(v.Addr().Interface()); err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			d.badValue(n.Line, path, "%s", strings.Join(strings.Fields(msg), " "))
		}
		return
	}
	if t == durationType {
		d.duration(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if v.IsNil() {
			v.Set(p)
		} else {
			p = v
		}
		d.decode(n, p.Elem(), path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string", t == secretType, "!!str", "!!int", "!!float", "!!bool", "!!timestamp"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false", false, "!!bool"); ok {
			b, err := strconv.ParseBool(strings.ToLower(s))
			if err != nil {
				d.badValue(n.Line, path, "want true or false, got %s", describe(n))
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, ok := d.scalar(n, path, "an integer", false, "!!int"); ok {
			var i int64
			if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
				d.badValue(n.Line, path, "want an integer, got %s, which is out of range", describe(n))
				return
			}
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := d.scalar(n, path, "a non-negative integer", false, "!!int"); ok {
			var i uint64
			if err := n.Decode(&i); err != nil || v.OverflowUint(i) {
				d.badValue(n.Line, path, "want a non-negative integer, got %s, which is out of range", describe(n))
				return
			}
			v.SetUint(i)
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := d.scalar(n, path, "a number", false, "!!int", "!!float"); ok {
			var f float64
			if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.badValue(n.Line, path, "want a number, got %s", describe(n))
				return
			}
			v.SetFloat(f)
		}
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.badValue(n.Line, path, "want a list (lines starting with \"- \"), got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.line[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			d.badValue(n.Line, path, "internal error: cannot read a map keyed by %s", t.Key())
			return
		}
		if n.Kind != yaml.MappingNode {
			d.badValue(n.Line, path, "want a mapping (key: value lines), got %s", describe(n))
			return
		}
		m := reflect.MakeMap(t)
		for _, p := range d.pairs(n, path, 0) {
			kp := path + keySegment(p.k.Value)
			d.line[kp] = p.k.Line
			e := reflect.New(t.Elem()).Elem()
			d.decode(p.v, e, kp)
			m.SetMapIndex(reflect.ValueOf(p.k.Value).Convert(t.Key()), e)
		}
		v.Set(m)
	default:
		d.badValue(n.Line, path, "internal error: cannot read a value of type %s", t)
	}
}

// scalar returns the text of a scalar node whose tag is one of tags, or
// reports that want was expected. A secret's value is never described.
func (d *decoder) scalar(n *yaml.Node, path, want string, secret bool, tags ...string) (string, bool) {
	if n.Kind == yaml.ScalarNode && slices.Contains(tags, n.ShortTag()) {
		return n.Value, true
	}
	got := describe(n)
	if secret {
		got = describeKind(n)
	}
	d.badValue(n.Line, path, "want %s, got %s", want, got)
	return "", false
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	const want = "a duration such as 90s, 30m, 24h or 7d"
	s, ok := d.scalar(n, path, want, false, "!!str", "!!int")
	if !ok {
		return
	}
	dur, err := parseDuration(s)
	if err != nil {
		d.badValue(n.Line, path, "want %s, got %s", want, describe(n))
		return
	}
	v.SetInt(int64(dur))
}

// parseDuration is time.ParseDuration plus whole days ("7d", "1d12h") and
// a bare 0.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("bad number of days in %q", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if days > 0 && dur < 0 {
		return 0, fmt.Errorf("mixed signs in %q", s)
	}
	return days + dur, nil
}

// structure decodes a mapping onto the struct v, field by field.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	fields := structFields(v.Type())
	if n.Kind != yaml.MappingNode {
		d.badValue(n.Line, path, "want a mapping with the keys %s, got %s", strings.Join(fieldNames(fields), ", "), describe(n))
		return
	}
	for _, p := range d.pairs(n, path, 0) {
		key := p.k.Value
		kp := join(path, key)
		f, ok := fieldByName(fields, key)
		if !ok {
			d.errorf(p.k.Line, kp, "unknown key%s", d.hint(key, v.Type(), fields))
			continue
		}
		d.line[kp] = p.k.Line
		d.decode(p.v, v.FieldByIndex(f.index), kp)
	}
}

// hint suggests what an unknown key in a mapping of type t was meant to be.
func (d *decoder) hint(key string, t reflect.Type, fields []field) string {
	names := fieldNames(fields)
	if s := didYouMean(key, names); s != "" {
		return s
	}
	// A key one level too high, such as delimiter: directly in a feed.
	for _, f := range fields {
		ft := f.typ
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || ft == durationType {
			continue
		}
		for _, sub := range structFields(ft) {
			if sub.name == key {
				return fmt.Sprintf("; did you mean %q (it belongs under %s:)?", f.name+"."+key, f.name)
			}
		}
	}
	return "; the keys here are " + strings.Join(names, ", ")
}

type pair struct{ k, v *yaml.Node }

// pairs returns the entries of a mapping, with YAML merge keys (<<: *x)
// expanded: an entry written in the mapping wins over a merged one. A
// repeated key, or a key that is not a scalar, is an error.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var out, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.spend(k) {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(k, v, path, depth)...)
			continue
		}
		if k = d.deref(k, path); k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, join(path, k.Value), "repeated key (first set on line %d); keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.k.Value]; !dup {
			seen[p.k.Value] = p.k.Line
			out = append(out, p)
		}
	}
	return out
}

// merge returns the entries a merge key brings in: those of one mapping or
// of a list of mappings, earlier ones winning.
func (d *decoder) merge(k, v *yaml.Node, path string, depth int) []pair {
	if depth > 32 {
		d.errorf(k.Line, path, "merge keys (<<) nested too deep")
		return nil
	}
	if v = d.deref(v, path); v == nil {
		return nil
	}
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	var out []pair
	for _, s := range srcs {
		if s = d.deref(s, path); s == nil {
			continue
		}
		if s.Kind != yaml.MappingNode {
			d.errorf(k.Line, path, "a merge key (<<) takes a mapping or a list of mappings, got %s", describe(s))
			continue
		}
		out = append(out, d.pairs(s, path, depth+1)...)
	}
	return out
}

// field is a struct field known by its YAML key.
type field struct {
	name  string
	index []int
	typ   reflect.Type
}

// structFields lists the YAML keys of struct type t, in declaration order;
// fields tagged ",inline" contribute their own, fields tagged "-" and
// unexported fields none. An untagged field's key is its name in lower
// case, as yaml.v3 does it.
func structFields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") && sf.Type.Kind() == reflect.Struct {
			for _, sub := range structFields(sf.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, field{name: name, index: []int{i}, typ: sf.Type})
	}
	return out
}

func fieldByName(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func fieldNames(fields []field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// join appends a struct key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + keySegment(key)
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// keySegment is how key is appended to a path: .key when it is made of
// plain words, perhaps dotted (a field name such as source.ip), else
// ["key"] (a CSV column header such as "Source IP").
func keySegment(key string) string {
	if plainKey.MatchString(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

// parentKey returns the path path is a member of, or "".
func parentKey(path string) string {
	i := -1
	switch {
	case strings.HasSuffix(path, `"]`):
		i = strings.LastIndex(path, `["`)
	case strings.HasSuffix(path, "]"):
		i = strings.LastIndexByte(path, '[')
	default:
		i = strings.LastIndexByte(path, '.')
	}
	if i < 0 {
		return ""
	}
	return path[:i]
}

// describeKind names the kind of node n without its value.
func describeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing (null)"
	case "!!timestamp":
		return "a timestamp"
	}
	return "a value tagged " + n.ShortTag()
}

// describe names node n with its value, shortened, for a message.
func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return describeKind(n)
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch {
	case isNull(n):
		return describeKind(n)
	case n.ShortTag() != "!!str" && plainValue.MatchString(v):
		return describeKind(n) + " " + v
	}
	return describeKind(n) + " " + strconv.Quote(v)
}

var plainValue = regexp.MustCompile(`^[A-Za-z0-9.+_:-]+$`)
