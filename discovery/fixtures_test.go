package discovery

import (
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// The fixture catalogue shared by golden, schema, contract and fuzz tests
// (the last two reach it through export_test.go).

func ip(i int) *int { return &i }

var testTime = time.Date(2026, 3, 1, 17, 5, 12, 0, time.UTC)

func testOptions() Options {
	return Options{
		Topics:       Topics{Root: "blink2mqtt"},
		Version:      "1.2.3",
		HoldTime:     30 * time.Second,
		LocalStorage: true,
	}
}

// defaultAccount is a typical account: network "Home" with a sync module, a
// gen-3 camera and a doorbell; network "Garage" with a standalone Mini.
func defaultAccount() *blink.Homescreen {
	return &blink.Homescreen{
		AccountID: 1001,
		Networks: []blink.Network{
			{ID: 4321, Name: "Home", Armed: true, TimeZone: "Europe/Berlin", UpdatedAt: testTime},
			{ID: 4400, Name: "Garage", TimeZone: "Europe/Berlin", UpdatedAt: testTime},
		},
		SyncModules: []blink.SyncModule{{
			ID: 777, NetworkID: 4321, Name: "My Blink Sync Module", Serial: "G8T1V7010000ABCD",
			FirmwareVersion: "16.0.34", Type: "sm2", Subtype: "billy", Status: "online",
			WiFiBars: 5, LastHeartbeat: testTime, LocalStorageStatus: "active", UpdatedAt: testTime,
		}},
		Devices: []blink.Device{
			{
				ID: 555, NetworkID: 4321, Family: blink.FamilyCamera, Type: "catalina", Name: "Front Yard",
				Serial: "G8V1000012345678", FirmwareVersion: "10.72", Enabled: true, Status: "done", Battery: "ok",
				Thumbnail: "/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1772384712&ext=",
				UpdatedAt: testTime,
				Signals: &blink.Signals{TemperatureF: ip(47), WiFiBars: ip(5), LFRBars: ip(4), BatteryBars: ip(3),
					BatteryState: "ok", UpdatedAt: testTime},
			},
			{
				ID: 888, NetworkID: 4400, Family: blink.FamilyOwl, Type: "owl", Name: "Hallway",
				Serial: "G8T1940000000XYZ", FirmwareVersion: "9.77", Status: "online", UpdatedAt: testTime,
			},
			{
				ID: 999, NetworkID: 4321, Family: blink.FamilyDoorbell, Type: "lotus", Name: "Front Door",
				Serial: "G8U1000000000DB1", FirmwareVersion: "11.10", Enabled: true, Status: "done", Battery: "ok",
				UpdatedAt: testTime,
			},
		},
	}
}

// bigAccount adds every family and oddity the builder must survive: an XT2
// with partial signals, a gen-1 camera without signals, a mains camera, a
// Mini 2 and a doorbell on their own networks, unknown camera, doorbell and
// sync module types, every sync module type, a device whose network is not
// listed, an unknown family, empty, accented and duplicate names, and a
// network with two sync modules.
func bigAccount() *blink.Homescreen {
	hs := defaultAccount()
	hs.Networks = append(hs.Networks,
		blink.Network{ID: 5000, Name: "Cabin"},
		blink.Network{ID: 5001, Name: ""},
		blink.Network{ID: 5002, Name: "Haustür Süd"},
		blink.Network{ID: 5003, Name: "Home"},
	)
	hs.SyncModules = append(hs.SyncModules,
		blink.SyncModule{ID: 778, NetworkID: 5000, Name: "Cabin Sync", Type: "sm1", Status: "offline", WiFiBars: -1},
		blink.SyncModule{ID: 779, NetworkID: 5000, Name: "Cabin Sync 2", Type: "kalahari", Status: "online", WiFiBars: 3, LocalStorageStatus: "unavailable"},
		blink.SyncModule{ID: 780, NetworkID: 5003, Name: "", Type: "sm9", Status: "online", WiFiBars: 0, LocalStorageStatus: "full"},
		blink.SyncModule{ID: 781, NetworkID: 6000, Name: "Orphan Sync", Type: "", Status: "online", WiFiBars: 4},
	)
	hs.Devices = append(hs.Devices,
		blink.Device{ID: 600, NetworkID: 5000, Family: blink.FamilyCamera, Type: "xt2", Name: "Back Yard", Battery: "low",
			Status: "offline", Signals: &blink.Signals{TemperatureF: ip(-3), WiFiBars: ip(0)}},
		blink.Device{ID: 601, NetworkID: 5000, Family: blink.FamilyCamera, Type: "white", Name: "Back Yard", Battery: "ok"},
		blink.Device{ID: 602, NetworkID: 4321, Family: blink.FamilyCamera, Type: "sedona", Name: "Drive way (USB)",
			Signals: &blink.Signals{WiFiBars: ip(2)}},
		blink.Device{ID: 603, NetworkID: 4321, Family: blink.FamilyCamera, Type: "", Name: ""},
		blink.Device{ID: 700, NetworkID: 5001, Family: blink.FamilyOwl, Type: "hawk", Name: "Kinderzimmer Ö"},
		blink.Device{ID: 701, NetworkID: 5003, Family: blink.FamilyOwl, Type: "owl", Name: "世界"},
		blink.Device{ID: 800, NetworkID: 5002, Family: blink.FamilyDoorbell, Type: "orchid", Name: "Haustür", Battery: "ok"},
		blink.Device{ID: 801, NetworkID: 5003, Family: blink.FamilyDoorbell, Type: "tulip", Name: "Side door"},
		blink.Device{ID: 802, NetworkID: 5003, Family: blink.FamilyDoorbell, Type: "peony", Name: "Gate", Battery: "low"},
		blink.Device{ID: 900, NetworkID: 7000, Family: blink.FamilyCamera, Type: "catalina", Name: "Lost network"},
		blink.Device{ID: 901, NetworkID: 4321, Family: blink.Family("siren"), Type: "siren", Name: "Siren"},
		blink.Device{ID: -5, NetworkID: -1, Family: blink.FamilyCamera, Type: "x y/z", Name: "___"},
	)
	return hs
}
