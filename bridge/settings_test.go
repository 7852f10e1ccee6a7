package bridge

import "testing"

func TestCoarseDBm(t *testing.T) {
	for in, want := range map[int]int{-52: -50, -53: -55, -57: -55, -58: -60, -60: -60, -1: 0, 0: 0, 3: 5} {
		if got := coarseDBm(&in); *got != want {
			t.Errorf("coarseDBm(%d) = %d, want %d", in, *got, want)
		}
	}
	if coarseDBm(nil) != nil {
		t.Error("coarseDBm(nil) is not nil")
	}
}
