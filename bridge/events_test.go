package bridge

import (
	"encoding/json"
	"testing"
	"time"
)

// TestEventPayloadJSON: the message on <root>/events for a cloud media item
// and for a local clip, byte for byte (contract: a local clip's id is a
// string, its device_id and clip null when unknown; every event says where
// its clip is kept).
func TestEventPayloadJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 21, 11, 50, 0, time.UTC)
	tests := []struct {
		name string
		ev   eventPayload
		want string
	}{
		{"cloud", eventPayload{ID: 3123400000, Storage: storageCloud, Type: "motion", NetworkID: 4321, DeviceID: 555,
			DeviceName: "Front Yard", CreatedAt: &at, Clip: "/api/v2/accounts/1/media/clip/3123400000.mp4", Thumbnail: "/t.jpg"},
			`{"id":3123400000,"type":"motion","storage":"cloud","network_id":4321,"device_id":555,"device_name":"Front Yard",` +
				`"created_at":"2026-03-01T21:11:50Z","clip":"/api/v2/accounts/1/media/clip/3123400000.mp4","thumbnail":"/t.jpg"}`},
		{"cloud without clip keeps strings", eventPayload{ID: 7, Storage: storageCloud, Type: "snapshot", NetworkID: 1, DeviceID: 2},
			`{"id":7,"type":"snapshot","storage":"cloud","network_id":1,"device_id":2,"device_name":"","created_at":null,"clip":"","thumbnail":""}`},
		{"local, camera known, clip saved", eventPayload{LocalID: "866333964", Storage: storageLocal, Type: "motion", NetworkID: 4321,
			DeviceID: 555, DeviceName: "Back Door", CreatedAt: &at, Clip: "/media/4321/555/20260301T211150Z_866333964.mp4"},
			`{"id":"866333964","type":"motion","storage":"local","network_id":4321,"device_id":555,"device_name":"Back Door",` +
				`"created_at":"2026-03-01T21:11:50Z","clip":"/media/4321/555/20260301T211150Z_866333964.mp4","thumbnail":null}`},
		{"local, camera unknown, not saved", eventPayload{LocalID: "42", Storage: storageLocal, Type: "motion", NetworkID: 4321,
			DeviceName: "Ghost", CreatedAt: &at},
			`{"id":"42","type":"motion","storage":"local","network_id":4321,"device_id":null,"device_name":"Ghost",` +
				`"created_at":"2026-03-01T21:11:50Z","clip":null,"thumbnail":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("JSON\n got %s\nwant %s", b, tc.want)
			}
			var back eventPayload
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.ID != tc.ev.ID || back.LocalID != tc.ev.LocalID || back.DeviceID != tc.ev.DeviceID || back.Clip != tc.ev.Clip || back.Storage != tc.ev.Storage {
				t.Errorf("read back %+v, want %+v", back, tc.ev)
			}
		})
	}
}
