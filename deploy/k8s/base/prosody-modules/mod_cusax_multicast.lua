-- mod_cusax_multicast: XEP-0033 (Extended Stanza Addressing) style fan-out
-- for trusted components, for Prosody 0.12.
-- Part of CUSAX Bridge (cusax.dev/bridge), under the project's licence.
--
-- Why: an external component (XEP-0114) such as the bridge's chat rooms must
-- otherwise send one stanza per recipient over its link, and Prosody parses
-- and routes every copy; its own MUC parses once and routes N times. With
-- this module the component sends one message to the bare server domain
-- carrying <addresses xmlns='http://jabber.org/protocol/address'/> with one
-- <address type='bcc' jid='...'/> per recipient, and Prosody routes that one
-- parsed stanza to each, as its own MUC does (docs/design/05_muc.md).
--
-- Trust: only components may multicast (they are configured by the operator
-- and Prosody already checks their 'from' domain); anyone else gets
-- <forbidden/> and nothing is delivered. Only 'bcc' addresses are supported,
-- so the recipients never see each other.
--
-- Load it on the VirtualHost that serves the users (modules_enabled =
-- { ..., "cusax_multicast" }, plugin_paths = { "<dir of this file>" }).
-- Options: cusax_multicast_max_addresses (default 10000) caps the
-- recipients of one stanza; more is refused with <policy-violation/>.
-- cusax_multicast_read_size (default 262144, 0 leaves it alone) is the read
-- size of a component's connection once it multicasts; see below.
-- cusax_multicast_jid_cache_size (default 10000) is how many prepped JIDs
-- are remembered.

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;
local new_cache = require "util.cache".new;

local xmlns_address = "http://jabber.org/protocol/address";
local max_addresses = module:get_option_number("cusax_multicast_max_addresses", 10000);
local read_size = module:get_option_number("cusax_multicast_read_size", 262144);

module:add_feature(xmlns_address);

-- A room's messages go to the same JIDs over and over, and stringprep is
-- the costliest step per address; valid JIDs are remembered (raw → prepped).
local prepped = new_cache(module:get_option_number("cusax_multicast_jid_cache_size", 10000));

local function refuse(origin, stanza, error_type, condition, text)
	if stanza.attr.type ~= "error" then
		origin.send(st.error_reply(stanza, error_type, condition, text));
	end
	return true;
end

-- message/host fires for messages to the bare domain (stanza_router's
-- core_post_stanza). Priority 10 runs before Prosody's own handlers (0).
module:hook("message/host", function(event)
	local origin, stanza = event.origin, event.stanza;
	local addresses = stanza:get_child("addresses", xmlns_address);
	if not addresses then
		return; -- not ours: mod_announce and others may want it
	end
	if origin.type ~= "component" then
		module:log("debug", "Refusing multicast from %s (%s)", stanza.attr.from, origin.type);
		return refuse(origin, stanza, "auth", "forbidden", "Only trusted components may multicast");
	end
	if stanza.attr.type == "error" then
		return true; -- never fan out (or answer) an error
	end
	-- The network backend buffers what is written to a client until the
	-- read being handled is done, then writes it in one go (one TLS record,
	-- one syscall). A multicast stanza for a few hundred recipients fills
	-- the default 8 KiB read by itself, so each client would get one write
	-- per message; with larger reads from this one trusted connection, a
	-- read holds several messages and each client gets them together, as
	-- with Prosody's own MUC, whose senders' messages are small.
	if read_size > 0 and not origin.cusax_multicast_read_size and origin.conn and origin.conn.set_mode then
		origin.conn:set_mode(read_size);
		origin.cusax_multicast_read_size = read_size;
	end

	-- Validate every address before delivering anything, so a bad stanza
	-- is refused whole rather than delivered in part.
	local recipients, n = {}, 0;
	for address in addresses:childtags("address", xmlns_address) do
		if address.attr.type ~= "bcc" then
			return refuse(origin, stanza, "cancel", "feature-not-implemented", "Only bcc addresses are supported");
		end
		local raw = address.attr.jid;
		local to = raw and prepped:get(raw);
		if not to then
			to = raw and jid_prep(raw);
			if not to then
				return refuse(origin, stanza, "modify", "jid-malformed", "Invalid address jid");
			end
			prepped:set(raw, to);
		end
		n = n + 1;
		if n > max_addresses then
			return refuse(origin, stanza, "modify", "policy-violation", "Too many addresses");
		end
		recipients[n] = to;
	end

	-- Deliver one stanza object to each recipient, rewriting only 'to', as
	-- Prosody's MUC does (muc.lib.lua broadcast); copies are serialised as
	-- they are written, so nothing is cloned. The addresses element goes
	-- first: recipients must not see it. Like the MUC, route from this
	-- host: measured 15-20 % cheaper per copy than with the component's
	-- session as origin, and a bounce (error reply) is still routed to the
	-- sender, the component.
	stanza:remove_children("addresses", xmlns_address);
	local host_to = stanza.attr.to;
	for i = 1, n do
		stanza.attr.to = recipients[i];
		module:send(stanza);
	end
	stanza.attr.to = host_to;
	return true;
end, 10);
