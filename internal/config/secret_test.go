package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretRedacted(t *testing.T) {
	tests := []struct {
		value, shown string
		hidden       []string // never printed
	}{
		{"hunter2", Redacted, []string{"hunter2"}},
		{"sqlite", Redacted, nil},
		{"", "", nil},
		{"postgres://tocsin:s3cret@db.example.org:5432/tocsin?sslmode=require",
			"postgres://tocsin:xxxxx@db.example.org:5432/tocsin?sslmode=require", []string{"s3cret"}},
		{"postgresql://tocsin@db/tocsin?password=s3cret&sslpassword=k3y&sslmode=require",
			"postgresql://tocsin@db/tocsin?password=xxxxx&sslmode=require&sslpassword=xxxxx", []string{"s3cret", "k3y"}},
		{"postgres://tocsin:s3cret@db/tocsin#s3cret", "postgres://tocsin:xxxxx@db/tocsin", []string{"s3cret"}},
		{"postgres://tocsin:s3cret@db/tocsin?a=%zz", Redacted, []string{"s3cret"}},
		{"postgres://tocsin:s3cret@[::1/tocsin", Redacted, []string{"s3cret"}},
		{"host=db password=s3cret", Redacted, []string{"s3cret"}},
	}
	for _, tt := range tests {
		s := Secret(tt.value)
		if s.Reveal() != tt.value {
			t.Errorf("Reveal() = %q", s.Reveal())
		}
		if s.String() != tt.shown {
			t.Errorf("String() = %q, want %q", s.String(), tt.shown)
		}
		type holder struct {
			Name string
			DB   Secret
			Ptr  *Secret
		}
		h := holder{"x", s, &s}
		var outs []string
		for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%T"} {
			outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h), fmt.Sprintf(verb, []Secret{s}))
		}
		for _, v := range []any{s, h, map[string]Secret{"db": s}} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, string(b))
			b, err = yaml.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, string(b))
		}
		var buf bytes.Buffer
		for _, log := range []*slog.Logger{slog.New(slog.NewTextHandler(&buf, nil)), slog.New(slog.NewJSONHandler(&buf, nil))} {
			log.Info("open", "db", s, "holder", h, slog.Any("any", s), slog.String("str", s.String()))
		}
		outs = append(outs, buf.String())
		all := strings.Join(outs, "\n")
		for _, secret := range tt.hidden {
			if strings.Contains(all, secret) {
				t.Errorf("secret %q printed:\n%s", secret, all)
			}
		}
		if tt.shown != "" && !strings.Contains(fmt.Sprint(s), tt.shown) {
			t.Errorf("fmt.Sprint = %q, want %q", fmt.Sprint(s), tt.shown)
		}
	}
}

func TestConfigPrintsNoSecret(t *testing.T) {
	c, err := Parse("t.yaml", []byte("database: postgres://tocsin:s3cret@db/tocsin\n"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v %+v %#v\n", c, c, c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "c", c)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "c", c)
	b, _ := json.Marshal(c)
	buf.Write(b)
	if strings.Contains(buf.String(), "s3cret") {
		t.Errorf("secret printed:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "postgres://tocsin:xxxxx@db/tocsin") {
		t.Errorf("redacted URL not shown:\n%s", buf.String())
	}
}
