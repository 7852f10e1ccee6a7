package blink

import (
	"errors"
	"testing"
	"time"
)

func TestRESTBaseTemplate(t *testing.T) {
	for _, tc := range []struct {
		tmpl, tier, want string
	}{
		{"", "u011", "https://rest-u011.immedia-semi.com"},
		{"", "", "https://rest-prod.immedia-semi.com"},
		{"http://127.0.0.1:8080/{tier}", "e006", "http://127.0.0.1:8080/e006"},
		{"http://proxy.local:9000/", "u011", "http://proxy.local:9000"}, // no {tier}: as-is for every tier
		{"", "evil.example.com/x", "https://rest-prod.immedia-semi.com"},
	} {
		c, err := New(Options{RESTURL: tc.tmpl, Store: &MemoryTokenStore{}, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.restBase(tc.tier); got != tc.want {
			t.Errorf("restBase(%q) with %q = %q, want %q", tc.tier, tc.tmpl, got, tc.want)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Store succeeded")
	}
	for _, o := range []Options{
		{OAuthURL: "ftp://x", Store: &MemoryTokenStore{}},
		{RESTURL: "rest-{tier}.example.com", Store: &MemoryTokenStore{}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted a bad URL", o)
		}
	}
	bad := &MemoryTokenStore{}
	tok := sessionTokens(time.Now())
	tok.Tier = "u011.evil.example"
	_ = bad.Save(tok)
	if _, err := New(Options{Store: bad}); err == nil {
		t.Error("New accepted a saved tier that is not a tier code")
	}
}

func TestReloadTokensRejectsBadTierAndKeepsSession(t *testing.T) {
	store := &MemoryTokenStore{}
	_ = store.Save(sessionTokens(time.Now()))
	c, err := New(Options{Store: store, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	tok := sessionTokens(time.Now())
	tok.Tier = "../x"
	_ = store.Save(tok)
	if _, err := c.ReloadTokens(); noteErr(err) == nil {
		t.Fatal("ReloadTokens accepted a bad tier")
	}
	if c.Session().Tier != "u011" || !c.HasSession() {
		t.Errorf("session changed after a rejected reload: %+v", c.Session())
	}
	if _, err := (&Client{store: &MemoryTokenStore{}}).ReloadTokens(); !errors.Is(err, ErrNoTokens) {
		t.Errorf("reload of an empty store: %v, want ErrNoTokens", err)
	}
}
