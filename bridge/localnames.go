package bridge

import (
	"strings"
	"unicode"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// A local-storage manifest names a clip's camera only by its name with the
// non-alphanumeric characters removed ("Back Door" → "BackDoor"). Which
// characters Blink keeps is not documented (public clients strip with a
// Unicode "word character" rule, which keeps "_"), so a device matches when
// any of these forms of its name equals the manifest's, exactly, or else
// ignoring case.

// nameMatch is how a manifest's camera name matched the homescreen.
type nameMatch int

const (
	nameUnknown   nameMatch = iota // no device of the network has that name
	nameFound                      // exactly one has
	nameAmbiguous                  // several have
)

func (m nameMatch) String() string {
	return [...]string{"unknown", "found", "ambiguous"}[m]
}

// nameForms are the ways a sync module may have stripped name.
func nameForms(name string) [3]string {
	keep := func(ok func(r rune) bool) string {
		return strings.Map(func(r rune) rune {
			if ok(r) {
				return r
			}
			return -1
		}, name)
	}
	return [3]string{
		keep(func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }),
		keep(func(r rune) bool { return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }),
		keep(func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }),
	}
}

// localDevice finds the camera, Mini or doorbell of network whose name,
// stripped like the manifest's, is camera.
func localDevice(hs *blink.Homescreen, network int64, camera string) (blink.Device, nameMatch) {
	if hs == nil || camera == "" {
		return blink.Device{}, nameUnknown
	}
	for _, same := range []func(a, b string) bool{
		func(a, b string) bool { return a == b },
		strings.EqualFold,
	} {
		var found []blink.Device
		for _, d := range hs.Devices {
			if d.NetworkID != network {
				continue
			}
			for _, f := range nameForms(d.Name) {
				if f != "" && same(f, camera) {
					found = append(found, d)
					break
				}
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nameFound
		}
		return blink.Device{}, nameAmbiguous
	}
	return blink.Device{}, nameUnknown
}
