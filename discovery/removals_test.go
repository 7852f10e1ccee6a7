package discovery

import "testing"

func TestRemovals(t *testing.T) {
	opts := testOptions()
	before := Build(opts, bigAccount())
	hs := bigAccount()
	hs.Devices = hs.Devices[:1] // every device but Front Yard leaves the account
	after := Build(opts, hs)

	rm := Removals(TopicsOf(before), after)
	if len(rm) == 0 {
		t.Fatal("no removals after devices left")
	}
	cur := map[string]bool{}
	for _, m := range after {
		cur[m.Topic] = true
	}
	for i, m := range rm {
		if len(m.Payload) != 0 || !m.Retained {
			t.Errorf("%s: removal must be an empty retained payload", m.Topic)
		}
		if cur[m.Topic] {
			t.Errorf("%s removed but still current", m.Topic)
		}
		if i > 0 && rm[i-1].Topic >= m.Topic {
			t.Errorf("removals not sorted/unique at %s", m.Topic)
		}
	}
	if len(rm)+len(after) != len(before) {
		t.Errorf("%d removals + %d current != %d before", len(rm), len(after), len(before))
	}
	if got := Removals(TopicsOf(after), after); len(got) != 0 {
		t.Errorf("nothing changed but %d removals", len(got))
	}
	// A ledger with repeats, and a topic whose current message is itself a
	// removal, both still yield one removal.
	dup := []string{"homeassistant/sensor/x/y/config", "homeassistant/sensor/x/y/config"}
	if got := Removals(dup, []Message{{Topic: dup[0], Retained: true}}); len(got) != 1 {
		t.Errorf("got %d removals, want 1", len(got))
	}
}
