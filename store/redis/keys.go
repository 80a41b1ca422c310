package redis

// keys builds every key name. Hash tags ({…}) decide the Cluster slot:
// rooms and affiliations share {store} so a room and its affiliations change
// in one script; each lease has its own tag shared with its token counter;
// the node registry shares {nodes}; each bus topic is one stream.
type keys struct{ p string }

func newKeys(prefix string) keys {
	if prefix == "" {
		prefix = "bridge"
	}
	return keys{p: prefix}
}

func (k keys) rooms() string            { return k.p + ":{store}:rooms" }
func (k keys) affs(room string) string  { return k.p + ":{store}:affs:" + room }
func (k keys) lease(name string) string { return k.p + ":{lease:" + name + "}" }
func (k keys) leaseToken(name string) string {
	return k.p + ":{lease:" + name + "}:token"
}
func (k keys) nodeInfo() string           { return k.p + ":{nodes}:info" }
func (k keys) nodeExpiry() string         { return k.p + ":{nodes}:expiry" }
func (k keys) stream(topic string) string { return k.p + ":{bus:" + topic + "}" }
