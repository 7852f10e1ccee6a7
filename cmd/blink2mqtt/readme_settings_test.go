package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// TestReadmeSettingsTable: the README's settings table lists exactly the
// catalogue, in order, with each setting's entity, values and families.
func TestReadmeSettingsTable(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	_, section, ok := strings.Cut(doc, "### Settings, schedules and notifications")
	if !ok {
		t.Fatal("the README has no settings section")
	}
	nameRe := regexp.MustCompile("^\\| `([a-z_]+)` — ")
	var rows [][]string
	for _, l := range strings.Split(section, "\n") {
		if m := nameRe.FindStringSubmatch(l); m != nil {
			cells := strings.Split(strings.Trim(l, "| "), " | ")
			rows = append(rows, append([]string{m[1]}, cells...))
		}
	}
	specs := blink.Settings()
	if len(rows) != len(specs) {
		t.Fatalf("%d rows in the settings table, want %d", len(rows), len(specs))
	}
	for i, spec := range specs {
		row := rows[i]
		if row[0] != spec.Name {
			t.Errorf("row %d names %s, want %s (catalogue order)", i, row[0], spec.Name)
			continue
		}
		component, _, _ := discovery.SettingEntity(spec.Name)
		if !strings.HasPrefix(row[2], component) {
			t.Errorf("%s: entity %q, want %s", spec.Name, row[2], component)
		}
		switch spec.Kind {
		case blink.SettingNumber:
			if want := fmt.Sprintf("%d–%d", spec.Min, spec.Max); row[3] != want {
				t.Errorf("%s: values %q, want %q", spec.Name, row[3], want)
			}
		case blink.SettingChoice:
			for _, o := range spec.Options {
				if !strings.Contains(row[3], "`"+o+"`") {
					t.Errorf("%s: values %q lack %s", spec.Name, row[3], o)
				}
			}
		}
		names := map[blink.Family]string{blink.FamilyCamera: "camera", blink.FamilyOwl: "Mini", blink.FamilyDoorbell: "doorbell"}
		var fams []string
		for _, f := range spec.Families() {
			fams = append(fams, names[f])
		}
		if row[4] != strings.Join(fams, ", ") {
			t.Errorf("%s: families %q, want %q", spec.Name, row[4], strings.Join(fams, ", "))
		}
		for _, f := range spec.Families() {
			for _, field := range spec.Fields(f)[:1] {
				if !strings.Contains(row[5], "`"+field+"`") {
					t.Errorf("%s: Blink's fields %q lack the %s field %s", spec.Name, row[5], f, field)
				}
			}
		}
	}
	for _, op := range []string{"program", "settings", "notifications"} {
		if !slices.ContainsFunc(strings.Split(doc, "\n"), func(l string) bool { return strings.HasPrefix(l, "| `"+op+"` |") }) {
			t.Errorf("the requests table has no row for %s", op)
		}
	}
}
