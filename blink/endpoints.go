package blink

import "fmt"

// endpoint is one operation whose path depends on the device family.
type endpoint int

const (
	epMotionOn endpoint = iota
	epMotionOff
	epThumbnail
	epClip
	epConfig
	epUpdate // settings: body built per change (UpdateSettings)
	epLiveview
	// Local storage joins here, with its row per family
	// in familyRoutes.
	numEndpoints
)

var endpointNames = [numEndpoints]string{
	epMotionOn: "motion_on", epMotionOff: "motion_off", epThumbnail: "thumbnail", epClip: "clip", epConfig: "config",
	epUpdate:   "update",
	epLiveview: "liveview",
}

func (e endpoint) String() string {
	if e < 0 || e >= numEndpoints {
		return fmt.Sprintf("endpoint(%d)", int(e))
	}
	return endpointNames[e]
}

// route is one family's path template for an endpoint; body is the fixed
// JSON body of a POST (nil for a bodiless one or a GET).
type route struct {
	tmpl string
	body []byte
}

// Path prefixes of the families: sync-module cameras live under the old
// /network/ paths, Minis and doorbells under the account.
const (
	cameraBase   = "/network/{net}/camera/{cam}"
	owlBase      = "/api/v1/accounts/{acct}/networks/{net}/owls/{cam}"
	doorbellBase = "/api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}"
)

// liveviewBody starts a plain live view (not Blink's paid "extended" one).
var liveviewBody = []byte(`{"intent":"liveview","motion_event_start_time":null}`)

// familyRoutes is the one table from device family to endpoint paths: the
// family alone picks the path, so a Mini can never be sent to a camera
// endpoint. An empty tmpl means the family has no such endpoint.
var familyRoutes = map[Family]*[numEndpoints]route{
	FamilyCamera: {
		epMotionOn:  {tmpl: cameraBase + "/enable"},
		epMotionOff: {tmpl: cameraBase + "/disable"},
		epThumbnail: {tmpl: cameraBase + "/thumbnail"},
		epClip:      {tmpl: cameraBase + "/clip"},
		epConfig:    {tmpl: cameraBase + "/config"},
		epUpdate:    {tmpl: cameraBase + "/update"},
		// v6 since 2026-05 (v5 before).
		epLiveview: {tmpl: "/api/v6/accounts/{acct}/networks/{net}/cameras/{cam}/liveview", body: liveviewBody},
	},
	FamilyOwl: {
		// Minis have no enable/disable: motion detection is a config field.
		epMotionOn:  {tmpl: owlBase + "/config", body: []byte(`{"enabled":true}`)},
		epMotionOff: {tmpl: owlBase + "/config", body: []byte(`{"enabled":false}`)},
		epThumbnail: {tmpl: owlBase + "/thumbnail"},
		epClip:      {tmpl: owlBase + "/clip"},
		epConfig:    {tmpl: owlBase + "/config"},
		epUpdate:    {tmpl: owlBase + "/config"},
		epLiveview:  {tmpl: "/api/v2/accounts/{acct}/networks/{net}/owls/{cam}/liveview", body: liveviewBody},
	},
	FamilyDoorbell: {
		epMotionOn:  {tmpl: doorbellBase + "/enable"},
		epMotionOff: {tmpl: doorbellBase + "/disable"},
		epThumbnail: {tmpl: doorbellBase + "/thumbnail"},
		epClip:      {tmpl: doorbellBase + "/clip"},
		epConfig:    {tmpl: doorbellBase + "/config"},
		epUpdate:    {tmpl: doorbellBase + "/config"},
		epLiveview:  {tmpl: "/api/v2/accounts/{acct}/networks/{net}/doorbells/{cam}/liveview", body: liveviewBody},
	},
}

// routeFor returns the family's route for e, or ErrWrongFamily when the
// family is unknown or has no such endpoint.
func routeFor(f Family, e endpoint) (route, error) {
	if rs := familyRoutes[f]; rs != nil && e >= 0 && e < numEndpoints && rs[e].tmpl != "" {
		return rs[e], nil
	}
	return route{}, fmt.Errorf("blink: %s for a %q device: %w", e, f, ErrWrongFamily)
}
