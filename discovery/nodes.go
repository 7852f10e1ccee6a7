package discovery

import (
	"strconv"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// FamilySyncModule is the family of sync modules in a DeviceKey.
const FamilySyncModule blink.Family = "sync_module"

// DeviceKey identifies a camera, Mini, doorbell or sync module. Blink
// numbers each family on its own, so a camera and a Mini of one network can
// share an id; the family tells them apart.
type DeviceKey struct {
	Network int64
	Family  blink.Family
	ID      int64
}

// KeyOf is the key of a camera, Mini or doorbell.
func KeyOf(d blink.Device) DeviceKey { return DeviceKey{d.NetworkID, d.Family, d.ID} }

// SyncModuleKey is the key of a sync module.
func SyncModuleKey(s blink.SyncModule) DeviceKey {
	return DeviceKey{s.NetworkID, FamilySyncModule, s.ID}
}

// String is "<network>/<family>/<id>", the form state files use
// ("<network>/<id>" for a key without a family).
func (k DeviceKey) String() string {
	if k.Family == "" {
		return strconv.FormatInt(k.Network, 10) + "/" + strconv.FormatInt(k.ID, 10)
	}
	return strconv.FormatInt(k.Network, 10) + "/" + string(k.Family) + "/" + strconv.FormatInt(k.ID, 10)
}

// ParseDeviceKey reads DeviceKey.String's form, and the "<network>/<id>"
// form of state files written before families were part of the key (the
// key's Family is then empty).
func ParseDeviceKey(s string) (DeviceKey, bool) {
	parts := strings.Split(s, "/")
	var k DeviceKey
	var err1, err2 error
	switch len(parts) {
	case 2:
		k.Network, err1 = strconv.ParseInt(parts[0], 10, 64)
		k.ID, err2 = strconv.ParseInt(parts[1], 10, 64)
	case 3:
		k.Network, err1 = strconv.ParseInt(parts[0], 10, 64)
		k.Family = blink.Family(parts[1])
		k.ID, err2 = strconv.ParseInt(parts[2], 10, 64)
		if !k.Family.Valid() && k.Family != FamilySyncModule {
			return DeviceKey{}, false
		}
	default:
		return DeviceKey{}, false
	}
	return k, err1 == nil && err2 == nil && k.Network > 0 && k.ID > 0
}

// Node is a device's place in the topic tree: <root>/<Network>/<Name>/….
type Node struct {
	Network int64
	Name    string
}

// IDNode is the node of a device whose id no other device of its network
// has: the bare Blink id, as in every topic before families could collide.
func IDNode(net, id int64) Node { return Node{net, strconv.FormatInt(id, 10)} }

// nodeOrder decides which family keeps the bare id when ids collide.
var nodeOrder = []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell, FamilySyncModule}

// nodePrefix names a family in a node that is not the bare id.
var nodePrefix = map[blink.Family]string{
	blink.FamilyCamera: "camera", blink.FamilyOwl: "owl", blink.FamilyDoorbell: "doorbell", FamilySyncModule: "sync",
}

// Nodes maps the devices and sync modules of one homescreen to their
// nodes. A device keeps its bare id unless another device of its network
// has the same id; then the first of them in nodeOrder keeps it and each
// other one is "<family>-<id>" (owl-888). Two devices never share a topic,
// and accounts without collisions keep the topics they always had.
type Nodes struct {
	byKey  map[DeviceKey]Node
	byNode map[Node]DeviceKey
}

// NodesOf builds the node table of hs (nil: an empty table).
func NodesOf(hs *blink.Homescreen) *Nodes {
	n := &Nodes{byKey: map[DeviceKey]Node{}, byNode: map[Node]DeviceKey{}}
	if hs == nil {
		return n
	}
	type netID struct{ net, id int64 }
	groups := map[netID][]DeviceKey{}
	add := func(k DeviceKey) {
		g := netID{k.Network, k.ID}
		for _, o := range groups[g] {
			if o.Family == k.Family {
				return // Blink listed the same device twice
			}
		}
		groups[g] = append(groups[g], k)
	}
	for _, d := range hs.Devices {
		add(KeyOf(d))
	}
	for _, s := range hs.SyncModules {
		add(SyncModuleKey(s))
	}
	for g, keys := range groups {
		if len(keys) == 1 {
			n.set(keys[0], IDNode(g.net, g.id))
			continue
		}
		first := -1
		for _, f := range nodeOrder {
			for i, k := range keys {
				if k.Family == f && first < 0 {
					first = i
				}
			}
		}
		if first < 0 {
			first = 0 // only unknown families: the first listed keeps the id
		}
		for i, k := range keys {
			if i == first {
				n.set(k, IDNode(g.net, g.id))
				continue
			}
			prefix, ok := nodePrefix[k.Family]
			if !ok {
				prefix = sanitizeID(string(k.Family))
			}
			n.set(k, Node{g.net, prefix + "-" + strconv.FormatInt(g.id, 10)})
		}
	}
	return n
}

func (n *Nodes) set(k DeviceKey, node Node) {
	n.byKey[k] = node
	n.byNode[node] = k
}

// Node returns the node of k; a key the table does not know gets the bare
// id.
func (n *Nodes) Node(k DeviceKey) Node {
	if node, ok := n.byKey[k]; ok {
		return node
	}
	return IDNode(k.Network, k.ID)
}

// Key returns the device at a node, as a …/set topic names it.
func (n *Nodes) Key(node Node) (DeviceKey, bool) {
	k, ok := n.byNode[node]
	return k, ok
}
