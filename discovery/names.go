package discovery

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Identifier prefix of every device, node id and unique_id.
const idPrefix = "blink2mqtt"

// NetworkDeviceID is the HA device identifier (and discovery node_id) of a
// Blink network.
func NetworkDeviceID(net int64) string { return idPrefix + "_network_" + id(net) }

// SyncModuleDeviceID is the HA device identifier of a sync module.
func SyncModuleDeviceID(sm int64) string { return idPrefix + "_sync_" + id(sm) }

// DeviceID is the HA device identifier of a camera, Mini or doorbell. The
// family is part of it because Blink numbers each family on its own.
func DeviceID(f blink.Family, dev int64) string {
	return idPrefix + "_" + string(f) + "_" + id(dev)
}

// BridgeDeviceID is the HA device identifier of the bridge itself. It comes
// from the topic root so two instances on one broker stay two devices; a
// root that needs sanitising gets a hash so "a/b" and "a_b" do not collide.
func BridgeDeviceID(t Topics) string {
	s := sanitizeID(t.Root)
	if s != t.Root || s == "" {
		h := fnv.New32a()
		h.Write([]byte(t.Root))
		s = fmt.Sprintf("%s_%08x", s, h.Sum32())
	}
	return idPrefix + "_bridge_" + strings.TrimPrefix(s, "_")
}

// sanitizeID keeps the characters HA allows in node and object ids
// ([a-zA-Z0-9_-]) and turns every other byte into "_".
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// fold maps common accented Latin letters to ASCII the way HA's slugify
// (unidecode) does for them; anything else becomes a separator.
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i",
	'î': "i", 'ï': "i", 'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o",
	'ö': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y",
	'ÿ': "y", 'ß': "ss", 'œ': "oe", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th",
}

// slug turns a display name into the lower-case [a-z0-9_] form HA uses in
// entity ids; "" when nothing usable is left.
func slug(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		var s string
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			s = string(r)
		default:
			s = fold[r]
		}
		if s == "" {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('_')
		}
		sep = false
		b.WriteString(s)
	}
	return b.String()
}

// deviceModels maps Blink type codes to the product names users know.
var deviceModels = map[string]string{
	"white":    "Indoor (gen 1)",
	"xt":       "XT",
	"xt2":      "XT2",
	"catalina": "Outdoor/Indoor (gen 3)",
	"owl":      "Mini",
	"hawk":     "Mini 2",
	"lotus":    "Video Doorbell",
	"tulip":    "Video Doorbell (gen 2)",
	"orchid":   "Battery Doorbell 2K+",
}

var syncModels = map[string]string{
	"sm1":      "Sync Module",
	"sm2":      "Sync Module 2",
	"kalahari": "Sync Module Core",
}

var familyModels = map[blink.Family]string{
	blink.FamilyCamera:   "Camera",
	blink.FamilyOwl:      "Mini",
	blink.FamilyDoorbell: "Video Doorbell",
}

// DeviceModel is the human model name of a camera, Mini or doorbell: the
// product name for known type codes, else the raw type, else the family.
func DeviceModel(d blink.Device) string {
	if m, ok := deviceModels[d.Type]; ok {
		return m
	}
	if d.Type != "" {
		return d.Type
	}
	if m, ok := familyModels[d.Family]; ok {
		return m
	}
	return "Blink device"
}

// SyncModuleModel is the human model name of a sync module.
func SyncModuleModel(s blink.SyncModule) string {
	if m, ok := syncModels[s.Type]; ok {
		return m
	}
	if s.Type != "" {
		return s.Type
	}
	return "Sync Module"
}
