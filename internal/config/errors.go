package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a config file. Its message never holds the value
// of a Secret.
type Error struct {
	File string // the file's name as given to Parse or Load
	Line int    // 1-based; 0 when unknown (a Config not read from a file)
	Key  string // path of the key, e.g. "feeds[2].csv.delimiter"; "" for the whole file
	Msg  string // what is wrong and, where it helps, what to do
}

// Error formats e as "FILE:LINE: key: message", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// joinErrors returns errs sorted by line (keeping the order of errors on one
// line) and joined, or nil when there are none.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return a.Line - b.Line })
	es := make([]error, len(errs))
	for i, e := range errs {
		es[i] = e
	}
	return errors.Join(es...)
}

// suggest returns the candidate nearest to s by edit distance, if it is
// near enough to be a plausible typo, or else one that s starts with or
// that starts with s ("warn" for "warning"), or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	if len(s) > 5 {
		limit = 2
	}
	if bestD >= 0 && bestD <= limit {
		return best
	}
	if len(ls) >= 3 {
		for _, c := range candidates {
			if lc := strings.ToLower(c); len(lc) >= 3 && (strings.HasPrefix(ls, lc) || strings.HasPrefix(lc, ls)) {
				return c
			}
		}
	}
	return ""
}

// didYouMean returns `; did you mean "x"?` for the suggestion of s, or "".
func didYouMean(s string, candidates []string) string {
	if m := suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Not a typo of any key or value we know; spare the quadratic work.
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
