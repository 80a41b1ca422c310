// Package k8s_test checks the Kustomize manifests beside it: every document
// decodes strictly into the k8s.io/api types (a misspelt or misplaced field
// fails), and what the bridge needs is wired right (probes, settings, ports,
// selectors, graceful stop).
package k8s_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize.config.k8s.io/v1beta1 these
// manifests use; anything else in a kustomization.yaml fails the strict
// decode, so a field added here has to be added on purpose.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		IncludeTemplates bool              `json:"includeTemplates,omitempty"`
		Pairs            map[string]string `json:"pairs"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Patches   []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
	ConfigMapGenerator []struct {
		Name  string   `json:"name"`
		Files []string `json:"files"`
	} `json:"configMapGenerator,omitempty"`
	SecretGenerator []struct {
		Name     string   `json:"name"`
		Literals []string `json:"literals"`
	} `json:"secretGenerator,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// manifests is everything decoded from a set of YAML documents.
type manifests struct {
	statefulSets []appsv1.StatefulSet
	deployments  []appsv1.Deployment
	services     []corev1.Service
	configMaps   []corev1.ConfigMap
	pdbs         []policyv1.PodDisruptionBudget
	netpols      []networkingv1.NetworkPolicy
	other        int
}

func (m *manifests) decode(t *testing.T, where string, doc []byte) {
	t.Helper()
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Fatalf("%s: not YAML: %v", where, err)
	}
	strict := func(v any) {
		t.Helper()
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			t.Errorf("%s: %s %s does not decode strictly: %v", where, head.APIVersion, head.Kind, err)
		}
	}
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 StatefulSet":
		var o appsv1.StatefulSet
		strict(&o)
		m.statefulSets = append(m.statefulSets, o)
	case "apps/v1 Deployment":
		var o appsv1.Deployment
		strict(&o)
		m.deployments = append(m.deployments, o)
	case "v1 Service":
		var o corev1.Service
		strict(&o)
		m.services = append(m.services, o)
	case "v1 ConfigMap":
		var o corev1.ConfigMap
		strict(&o)
		m.configMaps = append(m.configMaps, o)
	case "v1 Secret":
		strict(&corev1.Secret{})
		m.other++
	case "v1 Namespace":
		strict(&corev1.Namespace{})
		m.other++
	case "v1 PersistentVolumeClaim":
		strict(&corev1.PersistentVolumeClaim{})
		m.other++
	case "policy/v1 PodDisruptionBudget":
		var o policyv1.PodDisruptionBudget
		strict(&o)
		m.pdbs = append(m.pdbs, o)
	case "networking.k8s.io/v1 NetworkPolicy":
		var o networkingv1.NetworkPolicy
		strict(&o)
		m.netpols = append(m.netpols, o)
	default:
		t.Errorf("%s: unexpected document %q %q: add its type to this test", where, head.APIVersion, head.Kind)
	}
}

var docSplit = regexp.MustCompile(`(?m)^---\s*$`)

func (m *manifests) decodeAll(t *testing.T, where string, data []byte) {
	t.Helper()
	for i, doc := range docSplit.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		m.decode(t, fmt.Sprintf("%s document %d", where, i+1), []byte(doc))
	}
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// loadDir decodes a kustomization folder: its kustomization.yaml, every
// resource file it lists that is a file in it, and its patches (strictly
// too, as partial objects of their kind).
func loadDir(t *testing.T, dir string) (kustomization, *manifests) {
	t.Helper()
	var k kustomization
	kb, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(kb, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml does not decode strictly: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s/kustomization.yaml is %s %s", dir, k.APIVersion, k.Kind)
	}
	m := &manifests{}
	listed := map[string]bool{"kustomization.yaml": true}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s lists resource %s: %v", dir, r, err)
			continue
		}
		if st.IsDir() {
			continue
		}
		listed[r] = true
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m.decodeAll(t, p, data)
	}
	for _, p := range k.Patches {
		listed[p.Path] = true
		data, err := os.ReadFile(filepath.Join(dir, p.Path))
		if err != nil {
			t.Errorf("%s lists patch %s: %v", dir, p.Path, err)
			continue
		}
		m.decodeAll(t, filepath.Join(dir, p.Path), data)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is in %s but not in its kustomization.yaml: it would never be applied", filepath.Base(f), dir)
		}
	}
	return k, m
}

// knownEnv reads the settings' names from cmd/bridge/settings.go (the
// constants key… = "name") and turns them into BRIDGE_* variables the way
// the binary does.
func knownEnv(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "..", "cmd", "bridge", "settings.go"), nil, 0)
	if err != nil {
		t.Fatalf("reading the bridge's settings: %v", err)
	}
	known := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 || !strings.HasPrefix(vs.Names[0].Name, "key") {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		name, _ := strconv.Unquote(lit.Value)
		known["BRIDGE_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = true
		return true
	})
	for _, must := range []string{"BRIDGE_REDIS_URL", "BRIDGE_HTTP_LISTEN", "BRIDGE_NODE_ID", "BRIDGE_SHUTDOWN_TIMEOUT"} {
		if !known[must] {
			t.Fatalf("parsed settings %v lack %s: the parser of settings.go is out of date", known, must)
		}
	}
	return known
}

func container(spec corev1.PodSpec, name string) (corev1.Container, bool) {
	for _, c := range spec.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return corev1.Container{}, false
}

func envValue(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func portNamed(c corev1.Container, name string) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// probeOn checks a probe is an HTTP GET of path on the http port.
func probeOn(t *testing.T, what string, p *corev1.Probe, path string, httpPort int32) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want an HTTP GET of %s, got %+v", what, path, p)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s path = %q, want %q", what, p.HTTPGet.Path, path)
	}
	port := p.HTTPGet.Port
	if !(port.Type == intstr.String && port.StrVal == "http") && !(port.Type == intstr.Int && port.IntVal == httpPort) {
		t.Errorf("%s port = %v, want the http port (%d)", what, port.String(), httpPort)
	}
}

// checkSIPAdvertise checks BRIDGE_SIP_ADVERTISE is the advertised RTP
// address (the pod's or node's IP from the downward API) with the SIP port.
// The kubelet expands $(VAR) only from variables defined earlier in the
// list; a later or unknown one stays as literal text.
func checkSIPAdvertise(t *testing.T, where string, c corev1.Container, sipPort int32) {
	t.Helper()
	want := "$(BRIDGE_RTP_ADDRESS):" + strconv.Itoa(int(sipPort))
	rtp, adv := -1, -1
	for i, e := range c.Env {
		switch e.Name {
		case "BRIDGE_RTP_ADDRESS":
			rtp = i
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil {
				t.Errorf("%s: BRIDGE_RTP_ADDRESS = %+v, want it from the downward API", where, e)
			}
		case "BRIDGE_SIP_ADVERTISE":
			adv = i
			if e.Value != want || e.ValueFrom != nil {
				t.Errorf("%s: BRIDGE_SIP_ADVERTISE = %+v, want %q", where, e, want)
			}
		}
	}
	if rtp < 0 || adv < 0 || adv < rtp {
		t.Errorf("%s: BRIDGE_SIP_ADVERTISE (at %d) must come after BRIDGE_RTP_ADDRESS (at %d) for the kubelet to expand it", where, adv, rtp)
	}
}

// image is what the manifests rely on in the repository's Dockerfile.
type image struct {
	entrypoint []string
	uid        string
}

// readDockerfile reads the final stage's ENTRYPOINT (exec form) and USER.
func readDockerfile(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatalf("reading the Dockerfile: %v", err)
	}
	var img image
	for _, line := range strings.Split(string(data), "\n") {
		instr, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			img = image{} // only the last stage is the image
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(arg), &img.entrypoint); err != nil {
				t.Fatalf("Dockerfile ENTRYPOINT %s: want the exec form, a JSON array: %v", arg, err)
			}
		case "USER":
			img.uid, _, _ = strings.Cut(strings.TrimSpace(arg), ":")
		}
	}
	if len(img.entrypoint) == 0 || img.uid == "" {
		t.Fatalf("the Dockerfile's last stage needs ENTRYPOINT and USER, got %+v", img)
	}
	return img
}

func labelsMatch(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestBase(t *testing.T) {
	k, m := loadDir(t, "base")
	if len(m.statefulSets) != 2 || len(m.deployments) != 1 || len(m.services) != 4 || len(m.pdbs) != 1 || len(m.netpols) != 3 || len(m.configMaps) != 1 {
		t.Fatalf("decoded %d StatefulSets, %d Deployments, %d Services, %d PDBs, %d NetworkPolicies, %d ConfigMaps; want 2, 1, 4, 1, 3, 1",
			len(m.statefulSets), len(m.deployments), len(m.services), len(m.pdbs), len(m.netpols), len(m.configMaps))
	}
	known := knownEnv(t)

	var bridge appsv1.StatefulSet
	pods := map[string]corev1.PodTemplateSpec{}
	for _, s := range m.statefulSets {
		pods[s.Name] = s.Spec.Template
		if s.Name == "bridge" {
			bridge = s
		}
		if !labelsMatch(s.Spec.Selector.MatchLabels, s.Spec.Template.Labels) {
			t.Errorf("StatefulSet %s selects %v but its pods carry %v", s.Name, s.Spec.Selector.MatchLabels, s.Spec.Template.Labels)
		}
	}
	for _, d := range m.deployments {
		pods[d.Name] = d.Spec.Template
	}
	c, ok := container(bridge.Spec.Template.Spec, "bridge")
	if !ok {
		t.Fatal("no StatefulSet bridge with a container bridge")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("the bridge container sets %s, which the bridge does not know (cmd/bridge/settings.go)", e.Name)
		}
		if env[e.Name] != "" {
			t.Errorf("%s set twice", e.Name)
		}
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			env[e.Name] = "(from)"
		}
	}

	// Probes on the http port, which is where BRIDGE_HTTP_LISTEN listens.
	httpPort, ok := portNamed(c, "http")
	if !ok {
		t.Fatal("the bridge container has no port named http")
	}
	if want := "0.0.0.0:" + strconv.Itoa(int(httpPort.ContainerPort)); env["BRIDGE_HTTP_LISTEN"] != want {
		t.Errorf("BRIDGE_HTTP_LISTEN = %q, want %q (all interfaces, the http port), or the kubelet cannot probe it", env["BRIDGE_HTTP_LISTEN"], want)
	}
	probeOn(t, "livenessProbe", c.LivenessProbe, "/healthz", httpPort.ContainerPort)
	probeOn(t, "startupProbe", c.StartupProbe, "/healthz", httpPort.ContainerPort)
	probeOn(t, "readinessProbe", c.ReadinessProbe, "/readyz", httpPort.ContainerPort)

	// SIP listens where the ports say.
	sipUDP, okU := portNamed(c, "sip-udp")
	sipTCP, okT := portNamed(c, "sip-tcp")
	if !okU || !okT || sipUDP.Protocol != corev1.ProtocolUDP || sipTCP.Protocol != corev1.ProtocolTCP {
		t.Errorf("the bridge container needs sip-udp (UDP) and sip-tcp (TCP) ports, has %+v", c.Ports)
	}
	if want := "0.0.0.0:" + strconv.Itoa(int(sipUDP.ContainerPort)); env["BRIDGE_SIP_LISTEN"] != want {
		t.Errorf("BRIDGE_SIP_LISTEN = %q, want %q", env["BRIDGE_SIP_LISTEN"], want)
	}

	// Per-pod identity and advertised address from the downward API.
	for name, field := range map[string]string{"BRIDGE_NODE_ID": "metadata.name", "BRIDGE_RTP_ADDRESS": "status.podIP"} {
		e, _ := envValue(c, name)
		if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != field {
			t.Errorf("%s = %+v, want it from the downward API field %s", name, e, field)
		}
	}

	// The RTP range is open in the NetworkPolicy.
	lo, hi, found := strings.Cut(env["BRIDGE_RTP_PORTS"], "-")
	low, err1 := strconv.Atoi(lo)
	high, err2 := strconv.Atoi(hi)
	if !found || err1 != nil || err2 != nil {
		t.Fatalf("BRIDGE_RTP_PORTS = %q, want LOW-HIGH", env["BRIDGE_RTP_PORTS"])
	}
	rtpOpen := false
	for _, np := range m.netpols {
		if !labelsMatch(np.Spec.PodSelector.MatchLabels, bridge.Spec.Template.Labels) {
			continue
		}
		for _, in := range np.Spec.Ingress {
			for _, p := range in.Ports {
				if p.Protocol != nil && *p.Protocol == corev1.ProtocolUDP && p.Port != nil && p.Port.IntVal == int32(low) && p.EndPort != nil && *p.EndPort == int32(high) {
					rtpOpen = true
				}
			}
		}
	}
	if !rtpOpen {
		t.Errorf("no NetworkPolicy of the bridge pods opens UDP %d-%d (BRIDGE_RTP_PORTS)", low, high)
	}

	// Redirects to this pod go to its own address and SIP port.
	checkSIPAdvertise(t, "base", c, sipUDP.ContainerPort)

	// The image the pods run: its binary drains, its user is the pods'.
	img := readDockerfile(t)
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		t.Errorf("the bridge container needs a preStop exec of `bridge drain`, got %+v", c.Lifecycle)
	} else if got, want := c.Lifecycle.PreStop.Exec.Command, append(slices.Clone(img.entrypoint), "drain"); !slices.Equal(got, want) {
		t.Errorf("preStop runs %q, want %q (the image's ENTRYPOINT and drain)", got, want)
	}
	if sc := bridge.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil || strconv.FormatInt(*sc.RunAsUser, 10) != img.uid {
		t.Errorf("pods run as %+v, want the image's USER uid %s", sc, img.uid)
	}

	// Drain and graceful stop fit in the grace period, which the kubelet
	// counts from the start of preStop.
	var stop time.Duration
	for _, name := range []string{"BRIDGE_DRAIN_TIMEOUT", "BRIDGE_SHUTDOWN_TIMEOUT"} {
		d, err := time.ParseDuration(env[name])
		if err != nil || d <= 0 {
			t.Fatalf("%s = %q, want a positive duration written out (the grace period is computed from it): %v", name, env[name], err)
		}
		stop += d
	}
	const margin = 10 * time.Second
	grace := bridge.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Errorf("terminationGracePeriodSeconds unset (30 s), want at least drain + shutdown timeouts (%v) + %v", stop, margin)
	} else if time.Duration(*grace)*time.Second < stop+margin {
		t.Errorf("terminationGracePeriodSeconds = %d, want at least drain + shutdown timeouts (%v) + %v", *grace, stop, margin)
	}

	// Redis and the component port are Services of these manifests.
	svcPorts := map[string]bool{}
	for _, s := range m.services {
		for _, p := range s.Spec.Ports {
			svcPorts[s.Name+":"+strconv.Itoa(int(p.Port))] = true
		}
	}
	redisHost := strings.TrimPrefix(env["BRIDGE_REDIS_URL"], "redis://")
	if !svcPorts[redisHost] {
		t.Errorf("BRIDGE_REDIS_URL %q names no Service port of these manifests (%v)", env["BRIDGE_REDIS_URL"], svcPorts)
	}
	if !svcPorts[env["BRIDGE_XMPP_COMPONENT"]] {
		t.Errorf("BRIDGE_XMPP_COMPONENT %q names no Service port of these manifests", env["BRIDGE_XMPP_COMPONENT"])
	}

	// Prosody's configuration declares the bridge's component on that port.
	cfg := m.configMaps[0].Data["prosody.cfg.lua"]
	if !strings.Contains(cfg, `Component "`+env["BRIDGE_XMPP_DOMAIN"]+`"`) {
		t.Errorf("prosody.cfg.lua has no Component %q (BRIDGE_XMPP_DOMAIN)", env["BRIDGE_XMPP_DOMAIN"])
	}
	_, compPort, _ := strings.Cut(env["BRIDGE_XMPP_COMPONENT"], ":")
	if !strings.Contains(cfg, "component_ports = { "+compPort+" }") || !strings.Contains(cfg, `component_interfaces = { "*" }`) {
		t.Errorf("prosody.cfg.lua must listen for components on %s on every interface", compPort)
	}

	// Both the bridge and Prosody read the secret the kustomization generates.
	generated := map[string]bool{}
	for _, g := range k.SecretGenerator {
		generated[g.Name] = true
	}
	// Every ConfigMap a pod mounts exists, as a manifest or generated from
	// files that exist (the Prosody module is one file for all uses).
	configMaps := map[string]bool{}
	for _, cm := range m.configMaps {
		configMaps[cm.Name] = true
	}
	for _, g := range k.ConfigMapGenerator {
		configMaps[g.Name] = true
		for _, f := range g.Files {
			if _, err := os.Stat(filepath.Join("base", f)); err != nil {
				t.Errorf("ConfigMap %s is generated from %s: %v", g.Name, f, err)
			}
		}
	}
	for name, tpl := range pods {
		for _, v := range tpl.Spec.Volumes {
			if v.ConfigMap != nil && !configMaps[v.ConfigMap.Name] {
				t.Errorf("%s mounts ConfigMap %s, which nothing defines or generates", name, v.ConfigMap.Name)
			}
		}
	}
	for name, tpl := range pods {
		for _, ct := range tpl.Spec.Containers {
			for _, e := range ct.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !generated[e.ValueFrom.SecretKeyRef.Name] {
					t.Errorf("%s/%s reads Secret %s, which nothing generates", name, ct.Name, e.ValueFrom.SecretKeyRef.Name)
				}
			}
			if ct.Resources.Requests.Cpu().IsZero() || ct.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s/%s has no CPU and memory requests", name, ct.Name)
			}
			if ct.ReadinessProbe == nil || ct.LivenessProbe == nil {
				t.Errorf("%s/%s lacks a readiness or liveness probe", name, ct.Name)
			}
		}
	}

	// Every selector selects something.
	selects := func(sel map[string]string) bool {
		for _, p := range pods {
			if labelsMatch(sel, p.Labels) {
				return true
			}
		}
		return false
	}
	for _, s := range m.services {
		if !selects(s.Spec.Selector) {
			t.Errorf("Service %s selects %v: no pod", s.Name, s.Spec.Selector)
		}
	}
	for _, p := range m.pdbs {
		if !labelsMatch(p.Spec.Selector.MatchLabels, bridge.Spec.Template.Labels) {
			t.Errorf("PodDisruptionBudget %s does not select the bridge pods", p.Name)
		}
	}
	for _, np := range m.netpols {
		if !selects(np.Spec.PodSelector.MatchLabels) {
			t.Errorf("NetworkPolicy %s selects no pod", np.Name)
		}
		for _, in := range np.Spec.Ingress {
			for _, f := range in.From {
				if f.PodSelector != nil && !selects(f.PodSelector.MatchLabels) {
					t.Errorf("NetworkPolicy %s admits pods %v: there are none", np.Name, f.PodSelector.MatchLabels)
				}
			}
		}
	}
	if bridge.Spec.ServiceName == "" {
		t.Error("the bridge StatefulSet names no governing Service")
	} else {
		found := false
		for _, s := range m.services {
			found = found || (s.Name == bridge.Spec.ServiceName && s.Spec.ClusterIP == corev1.ClusterIPNone)
		}
		if !found {
			t.Errorf("the bridge StatefulSet's Service %q is not a headless Service here", bridge.Spec.ServiceName)
		}
	}
}

func TestTopAndHostNetwork(t *testing.T) {
	top, m := loadDir(t, ".")
	if len(top.Resources) != 1 || top.Resources[0] != "base" || m.other+len(m.statefulSets) != 0 {
		t.Errorf("deploy/k8s/kustomization.yaml = %+v, want just the base", top)
	}
	hn, m := loadDir(t, "hostnetwork")
	if len(hn.Resources) != 1 || hn.Resources[0] != "../base" || len(m.statefulSets) != 1 {
		t.Fatalf("hostnetwork/kustomization.yaml = %+v, want ../base and one StatefulSet patch", hn)
	}
	known := knownEnv(t)
	spec := m.statefulSets[0].Spec.Template.Spec
	if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostnetwork patch: hostNetwork %v, dnsPolicy %q; want true and ClusterFirstWithHostNet", spec.HostNetwork, spec.DNSPolicy)
	}
	c, _ := container(spec, "bridge")
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("hostnetwork patch sets %s, unknown to the bridge", e.Name)
		}
	}
	e, _ := envValue(c, "BRIDGE_RTP_ADDRESS")
	if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "status.hostIP" {
		t.Errorf("hostnetwork BRIDGE_RTP_ADDRESS = %+v, want status.hostIP", e)
	}
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil || len(spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Error("hostnetwork needs required pod anti-affinity: two bridges on one node would fight over ports")
	}
}

// TestKustomizeBuild renders both entry points with `kubectl kustomize`,
// when kubectl is installed, and decodes the result strictly too: that is
// what an operator applies, with names suffixed and labels added.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed; the source manifests are still checked by TestBase")
	}
	for _, dir := range []string{".", "hostnetwork"} {
		var out, errb bytes.Buffer
		cmd := exec.Command(kubectl, "kustomize", dir)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, errb.String())
		}
		m := &manifests{}
		m.decodeAll(t, "kustomize "+dir, out.Bytes())
		var kinds []string
		for _, s := range m.statefulSets {
			kinds = append(kinds, "sts/"+s.Name)
			if s.Namespace != "cusax" || s.Spec.Template.Labels["app.kubernetes.io/part-of"] != "cusax-bridge" {
				t.Errorf("%s: StatefulSet %s namespace %q labels %v: the kustomization's namespace and labels are missing", dir, s.Name, s.Namespace, s.Spec.Template.Labels)
			}
		}
		sort.Strings(kinds)
		if fmt.Sprint(kinds) != "[sts/bridge sts/redis]" {
			t.Errorf("%s renders %v, want the bridge and redis StatefulSets", dir, kinds)
		}
		for _, s := range m.statefulSets {
			if s.Name != "bridge" {
				continue
			}
			if dir == "hostnetwork" && !s.Spec.Template.Spec.HostNetwork {
				t.Error("hostnetwork renders a bridge without hostNetwork")
			}
			c, _ := container(s.Spec.Template.Spec, "bridge")
			sip, _ := portNamed(c, "sip-udp")
			checkSIPAdvertise(t, "kustomize "+dir, c, sip.ContainerPort)
		}
	}
}
