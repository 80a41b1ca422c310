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
-- parsed stanza to each, as its own MUC does (docs/design/05_muc.md), and
-- serialises it once rather than once per copy (serialise_copy below).
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
--
-- Recipient lists (urn:cusax:multicast:list:0, advertised as a feature): a
-- room sends the same recipients message after message, and parsing each
-- <address/> (about 1.9 us) plus the loop over them is most of what a
-- multicast costs beyond the delivery itself. A component may name its
-- list: <list xmlns='urn:cusax:multicast:list:0' id='room@component' v='17'/>
-- next to the <addresses/>. The module stores the prepped recipients under
-- (component host, id) with version v, replacing what it held for that id.
-- A later message carrying only <list id v/> (no addresses) goes to the
-- stored recipients if the stored version is v; otherwise (never stored,
-- evicted, replaced, Prosody restarted, module reloaded) it is refused with
-- <item-not-found/> and nothing is delivered, and the component sends the
-- copies itself and the full list next time. The component changes v
-- whenever the recipients change, and sends the full list on the first use
-- of each version. Options: cusax_multicast_max_lists (default 10000) lists
-- kept, least recently used dropped first; cusax_multicast_max_list_recipients
-- (default 1000000) recipients kept over all lists.

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;
local jid_split = require "util.jid".split;
local new_cache = require "util.cache".new;
local filters = require "util.filters";
local xml_escape = st.xml_escape;

local hosts = prosody.hosts;
local xmlns_address = "http://jabber.org/protocol/address";
local xmlns_list = "urn:cusax:multicast:list:0";
local max_addresses = module:get_option_number("cusax_multicast_max_addresses", 10000);
local read_size = module:get_option_number("cusax_multicast_read_size", 262144);
local max_list_recipients = module:get_option_number("cusax_multicast_max_list_recipients", 1000000);

module:add_feature(xmlns_address);
module:add_feature(xmlns_list);

-- Stored lists: key (component host .. " " .. id) -> { v = version, n =
-- count, [1..n] = prepped JIDs }. Kept in module memory only: a reload or a
-- restart forgets them, and the component's next list-only message is
-- refused and answered with the full list. list_recipients counts the JIDs
-- held over all lists, to bound memory whatever the list sizes.
local list_recipients = 0;
local lists = new_cache(module:get_option_number("cusax_multicast_max_lists", 10000), function(_, list)
	list_recipients = list_recipients - list.n;
end);

-- store_list keeps recipients[1..n] under key with version v, dropping the
-- least recently used lists while the total would exceed the bound.
local function store_list(key, v, recipients, n)
	local old = lists:get(key);
	if old then
		list_recipients = list_recipients - old.n;
		lists:set(key, nil);
	end
	if n > max_list_recipients then
		return;
	end
	while list_recipients + n > max_list_recipients do
		local tail_key, tail = lists:tail();
		if not tail_key then break; end
		list_recipients = list_recipients - tail.n;
		lists:set(tail_key, nil);
	end
	recipients.v, recipients.n = v, n;
	lists:set(key, recipients);
	list_recipients = list_recipients + n;
end

-- A room's messages go to the same JIDs over and over, and stringprep is
-- the costliest step per address; valid JIDs are remembered (raw → prepped).
local prepped = new_cache(module:get_option_number("cusax_multicast_jid_cache_size", 10000));

-- Serialising once per message. Every copy of a multicast message is the
-- same stanza with a different 'to', yet each client session serialises
-- it whole (util.stanza's tostring), and before that its top tag for a
-- debug log line (session.send evaluates stanza:top_tag(), a clone of the
-- top element serialised, whether the line is logged or not): together
-- more than a third of Prosody's instructions per copy, measured. While
-- deliver routes a message, 'sending' holds both serialised once, each
-- split around the 'to' value, and what the stanza held when split:
-- - a "stanzas/out" filter that runs after every other one (so stream
--   management, CSI and the like still see and keep the stanza itself)
--   turns that stanza into head .. escaped 'to' .. tail, the very bytes
--   tostring would give;
-- - the stanza's own top_tag field, which comes before the method
--   util.stanza gives every stanza, returns the top tag the same way.
-- Handlers must not change in place a stanza routed to several recipients
-- (Prosody's MUC shares one the same way); if one did change its
-- attributes or children, that copy is serialised the ordinary way.
local sending; -- { stanza, head, tail, top_head, top_tail, attr = copy of attr, n_attr, children }
local last_filter = -1e9; -- filters run from the highest priority down
local stanza_top_tag = st.stanza_mt.top_tag;

-- split returns the pieces of serialised, made with attr.to = "\0", around
-- the one " to='\0'" in it.
local function split(serialised)
	local at = serialised:find(" to='\0'", 1, true);
	if at then
		return serialised:sub(1, at + 4), serialised:sub(at + 6);
	end
end

local function split_at_to(stanza)
	local attr = stanza.attr;
	local to = attr.to;
	attr.to = "\0"; -- never in a parsed stanza
	local head, tail = split(tostring(stanza));
	local top_head, top_tail = split(stanza_top_tag(stanza));
	attr.to = to;
	if not head or not top_head then return nil; end
	local copy, n_attr = {}, 0;
	for k, v in pairs(attr) do
		copy[k], n_attr = v, n_attr + 1;
	end
	local children = {};
	for i = 1, #stanza do children[i] = stanza[i]; end
	return { stanza = stanza, head = head, tail = tail, top_head = top_head, top_tail = top_tail,
		attr = copy, n_attr = n_attr, children = children };
end

-- as_split reports whether stanza is the one being sent, as it was split.
local function as_split(stanza)
	local s = sending;
	if not s or stanza ~= s.stanza then return false; end
	local attr, was, n_attr = stanza.attr, s.attr, 0;
	for k, v in pairs(attr) do
		if k ~= "to" and was[k] ~= v then return false; end
		n_attr = n_attr + 1;
	end
	local children = s.children;
	if n_attr ~= s.n_attr or #stanza ~= #children then return false; end
	for i = 1, #children do
		if stanza[i] ~= children[i] then return false; end
	end
	return true;
end

local function serialise_copy(stanza)
	if not as_split(stanza) then return stanza; end
	return sending.head .. xml_escape(stanza.attr.to) .. sending.tail;
end

local function copy_top_tag(stanza)
	if not as_split(stanza) then return stanza_top_tag(stanza); end
	return sending.top_head .. xml_escape(stanza.attr.to) .. sending.top_tail;
end

-- Client sessions created from now on get the filter, and so do those
-- already bound; unloading the module takes it away from both.
local function add_serialise_filter(session)
	if session.type and session.type:match("^c2s") then
		filters.add_filter(session, "stanzas/out", serialise_copy, last_filter);
	end
end

function module.load()
	filters.add_filter_hook(add_serialise_filter);
	for _, session in pairs(prosody.full_sessions) do
		add_serialise_filter(session);
	end
end

function module.unload()
	filters.remove_filter_hook(add_serialise_filter);
	for _, session in pairs(prosody.full_sessions) do
		filters.remove_filter(session, "stanzas/out", serialise_copy);
	end
end

-- route_copies routes stanza to recipients[1..n], rewriting only 'to', as
-- Prosody's MUC does (muc.lib.lua broadcast), so nothing is cloned.
-- domains[i] is the domain of a full JID recipient (false for a bare JID).
-- For a full JID at a host of this server, it fires message/full on that
-- host itself, which is what module:send (core_post_stanza) would do after
-- splitting the JID and looking the host up again for every copy; every
-- handler of the event (mod_message, blocking, carbons, archives, ...)
-- runs as for any message. Anything else goes through module:send. Routed
-- from this host, like the MUC (measured 15-20 % cheaper per copy than
-- with the component's session as origin); a bounce (error reply) is still
-- routed back to the sender, the component. Firing the event directly
-- saved a median 4.5 % of the loop's time per copy (paired in one Prosody:
-- 8 samples of 100,000 copies each way).
local function route_copies(stanza, recipients, domains, n)
	local origin = hosts[module.host];
	for i = 1, n do
		local to, domain = recipients[i], domains[i];
		local h = domain and hosts[domain];
		stanza.attr.to = to;
		if h then
			if not h.events.fire_event("message/full", { origin = origin, stanza = stanza }) then
				-- As core_post_stanza does when no handler took it.
				module:send(st.error_reply(stanza, "cancel", "service-unavailable"));
			end
		else
			module:send(stanza);
		end
	end
end

-- deliver routes stanza to recipients[1..n] (route_copies), serialised
-- once for all of them (split_at_to), and leaves the stanza and the
-- module as they were, even if a handler raised an error.
local function deliver(stanza, recipients, domains, n)
	local host_to = stanza.attr.to;
	local outer = sending; -- a handler could multicast in turn
	sending = n > 1 and split_at_to(stanza) or nil;
	if sending then stanza.top_tag = copy_top_tag; end
	local ok, err = pcall(route_copies, stanza, recipients, domains, n);
	sending = outer;
	stanza.top_tag = nil;
	stanza.attr.to = host_to;
	if not ok then error(err, 0); end
end

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
	local list = stanza:get_child("list", xmlns_list);
	if not addresses and not list then
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

	local list_key, list_v;
	if list then
		local id, v = list.attr.id, list.attr.v;
		if not id or id == "" or #id > 3071 or not v or v == "" or #v > 64 then
			return refuse(origin, stanza, "modify", "bad-request", "A list needs an id and a version");
		end
		list_key, list_v = origin.host .. " " .. id, v;
	end

	local recipients, domains, n = {}, {}, 0;
	if not addresses then
		-- Only the list's name: deliver to what was stored under it, if
		-- it is the version the component means.
		local stored = lists:get(list_key);
		if not stored or stored.v ~= list_v then
			return refuse(origin, stanza, "cancel", "item-not-found", "Unknown recipient list or version");
		end
		lists:set(list_key, stored); -- most recently used
		stanza:remove_children("list", xmlns_list);
		deliver(stanza, stored, stored.domains, stored.n);
		return true;
	end

	-- Validate every address before delivering anything, so a bad stanza
	-- is refused whole rather than delivered in part.
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
		local _, domain, resource = jid_split(to);
		domains[n] = resource and domain or false;
	end

	if list_key then
		-- Stored only once valid: a refused stanza leaves no list behind.
		-- The delivery below reads recipients and domains, which are never
		-- changed once stored.
		recipients.domains = domains;
		store_list(list_key, list_v, recipients, n);
		stanza:remove_children("list", xmlns_list);
	end
	-- The addresses element goes first: recipients must not see it.
	stanza:remove_children("addresses", xmlns_address);
	deliver(stanza, recipients, domains, n);
	return true;
end, 10);
