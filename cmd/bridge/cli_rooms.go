package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"cusax.dev/bridge/web/admin"
)

// The operators' CLI on the admin API (issue 17), run on a node with the
// node's configuration (flags, environment, YAML), like `bridge drain`:
//
//	bridge rooms [--output json]
//	bridge room show ROOM [--output json]
//	bridge room mute|unmute|kick|ban ROOM NICK [--reason TEXT]
//	bridge room end ROOM [--reason TEXT]
//	bridge room limit ROOM MAX
//	bridge room dial ROOM SIP-URI
//
// It asks the node's ops server (--http-listen) with the token of
// --admin-token-file, so it sees and does what the dashboard does.

const roomsUsage = `usage:
  bridge rooms [--output text|json] [settings flags]
  bridge room show ROOM [--output text|json] [settings flags]
  bridge room mute|unmute|kick|ban ROOM NICK [--reason TEXT] [--output text|json] [settings flags]
  bridge room end ROOM [--reason TEXT] [--output text|json] [settings flags]
  bridge room limit ROOM MAX [--output text|json] [settings flags]   (MAX participants, 0: no limit)
  bridge room dial ROOM SIP-URI [--output text|json] [settings flags]`

// cliArgs are the CLI's own arguments, apart from the settings flags.
type cliArgs struct {
	words  []string // the verb and its operands
	output string
	reason string
	rest   []string // settings flags, for loadConfig
}

// splitCLIArgs takes the CLI's own flags and operands out of args and
// leaves the settings flags (every one takes a value) for loadConfig.
func splitCLIArgs(args []string) (cliArgs, error) {
	c := cliArgs{output: "text"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			c.words = append(c.words, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "output", "o", "reason":
			if !hasValue {
				if i+1 >= len(args) {
					return c, fmt.Errorf("--%s needs a value", name)
				}
				i++
				value = args[i]
			}
			if name == "reason" {
				c.reason = value
			} else {
				c.output = value
			}
		case "h", "help":
			return c, flag.ErrHelp
		default:
			c.rest = append(c.rest, a)
			if !hasValue && i+1 < len(args) {
				i++
				c.rest = append(c.rest, args[i])
			}
		}
	}
	if c.output != "text" && c.output != "json" {
		return c, fmt.Errorf("--output %q: want text or json", c.output)
	}
	return c, nil
}

// runRooms is `bridge rooms` and `bridge room ...`: cmd is "rooms" or "room".
func runRooms(cmd string, args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	c, err := splitCLIArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, roomsUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "bridge %s: %v\n%s\n", cmd, err, roomsUsage)
		return exitBadConfig
	}
	method, path, body, err := roomsRequest(cmd, c.words, c.reason)
	if err != nil {
		fmt.Fprintf(stderr, "bridge %s: %v\n%s\n", cmd, err, roomsUsage)
		return exitBadConfig
	}
	cfg, err := loadClientConfig(c.rest, getenv, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bridge %s: %v\n", cmd, err)
		return exitBadConfig
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+localAddr(cfg.HTTPListen)+strings.TrimSuffix(admin.Prefix, "/")+path, rd)
	if err != nil {
		fmt.Fprintf(stderr, "bridge %s: %v\n", cmd, err)
		return exitFailure
	}
	if cfg.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "bridge %s: asking the node at %s: %v\n", cmd, req.URL.Host, err)
		return exitFailure
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		fmt.Fprintf(stderr, "bridge %s: reading the answer: %v\n", cmd, err)
		return exitFailure
	}
	if resp.StatusCode != http.StatusOK {
		var e admin.Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		fmt.Fprintf(stderr, "bridge %s: %s: %s\n", cmd, resp.Status, e.Error)
		return exitFailure
	}
	if c.output == "json" {
		stdout.Write(data)
		return exitOK
	}
	if err := printRooms(stdout, c.words, data); err != nil {
		fmt.Fprintf(stderr, "bridge %s: the node's answer: %v\n", cmd, err)
		return exitFailure
	}
	return exitOK
}

// roomsRequest maps the verb and its operands to the API call: its method,
// path under the API and JSON body (nil for none).
func roomsRequest(cmd string, words []string, reason string) (method, path string, body []byte, err error) {
	if cmd == "rooms" {
		if len(words) != 0 {
			return "", "", nil, fmt.Errorf("unexpected argument %q", words[0])
		}
		return http.MethodGet, "/rooms", nil, nil
	}
	if len(words) == 0 {
		return "", "", nil, errors.New("missing the verb: show, mute, unmute, kick, ban, end, limit or dial")
	}
	verb, ops := words[0], words[1:]
	want := 2
	switch verb {
	case "show", "end":
		want = 1
	case "limit", "dial", admin.ActionMute, admin.ActionUnmute, admin.ActionKick, admin.ActionBan:
	default:
		return "", "", nil, fmt.Errorf("unknown verb %q: want show, mute, unmute, kick, ban, end, limit or dial", verb)
	}
	if len(ops) != want {
		return "", "", nil, fmt.Errorf("%s takes %d operand(s), got %d", verb, want, len(ops))
	}
	room := "/rooms/" + url.PathEscape(ops[0])
	if reason != "" {
		body, _ = json.Marshal(map[string]string{"reason": reason})
	}
	switch verb {
	case "show":
		return http.MethodGet, room, nil, nil
	case "end":
		return http.MethodPost, room + "/end", body, nil
	case "limit":
		n, err := strconv.Atoi(ops[1])
		if err != nil || n < 0 {
			return "", "", nil, fmt.Errorf("limit: want a whole number of participants, 0 or more (0: no limit), got %q", ops[1])
		}
		body, _ = json.Marshal(admin.Limits{MaxParticipants: n})
		return http.MethodPut, room + "/limits", body, nil
	case "dial":
		body, _ = json.Marshal(map[string]string{"uri": ops[1]})
		return http.MethodPost, room + "/dial", body, nil
	}
	return http.MethodPost, room + "/participants/" + url.PathEscape(ops[1]) + "/" + verb, body, nil
}

// printRooms writes the answer for a person: a table of rooms, one room's
// participants, or the outcome of an action.
func printRooms(w io.Writer, words []string, data []byte) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch {
	case len(words) == 0:
		var l struct {
			Rooms []admin.Room `json:"rooms"`
		}
		if err := json.Unmarshal(data, &l); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ROOM\tNODE\tSECURITY\tCHAT\tCALLS\tPARTICIPANTS")
		for _, r := range l.Rooms {
			chat, calls := 0, len(r.PendingLegs)
			nicks := make([]string, 0, len(r.Participants))
			for _, p := range r.Participants {
				if containsFace(p.Faces, "chat") {
					chat++
				}
				calls += len(p.Legs)
				nicks = append(nicks, p.Nick)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Name, dash(r.Node), dash(r.Security), chat, calls, strings.Join(nicks, ", "))
		}
	case words[0] == "show":
		var r admin.Room
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		fmt.Fprintf(tw, "room %s (node %s, security %s, max participants %d)\n", r.Name, dash(r.Node), dash(r.Security), r.Limits.MaxParticipants)
		fmt.Fprintln(tw, "NICK\tFACES\tROLE\tMUTED\tTALKING\tJID")
		for _, p := range r.Participants {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%t\t%s\n", p.Nick, strings.Join(p.Faces, "+"), p.Role, p.Muted, p.Talking, dash(p.JID))
		}
	default:
		var res admin.ActionResult
		if err := json.Unmarshal(data, &res); err != nil {
			return err
		}
		target := res.Room
		switch {
		case res.Nick != "":
			target = res.Nick + " in " + res.Room
		case res.Limits != nil:
			target = fmt.Sprintf("%s to max %d participants", res.Room, res.Limits.MaxParticipants)
		case res.URI != "":
			target = res.URI + " into " + res.Room
			if res.Node != "" {
				target += " (from " + res.Node + ")"
			}
		}
		fmt.Fprintf(tw, "%s %s: %s\n", res.Kind, target, res.Outcome)
	}
	return nil
}

func containsFace(faces []string, f string) bool {
	for _, x := range faces {
		if x == f {
			return true
		}
	}
	return false
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
