-- Property test of deploy/k8s/base/prosody-modules/mod_cusax_multicast.lua
-- with Prosody's own libraries (util.stanza, util.filters, util.events,
-- util.jid, util.cache): random multicast stanzas, good and bad, go through
-- the module's message/host handler, and every copy a client session
-- writes, and the top tag it logs, must be exactly what Prosody makes for
-- that stanza without the module (tostring, top_tag), whether the module
-- serialised them or not. Run by
-- TestMulticastModuleWritesWhatProsodyWould (multicast_module_test.go):
--
--   lua5.4 multicast_module.lua <module file> <Prosody's source dir> <cases> <seed>
--
-- Only Prosody's module API around the module is a stand-in (module:hook,
-- module:send, hosts, sessions); what it does with stanzas is Prosody's.

local module_file, source_dir, cases, seed = ...;
assert(module_file and source_dir, "usage: multicast_module.lua <module file> <prosody source dir> [cases] [seed]");
cases, seed = tonumber(cases) or 500, tonumber(seed) or 1;
package.path = source_dir .. "/?.lua;" .. package.path;
package.cpath = source_dir .. "/?.so;" .. package.cpath;

local st = require "util.stanza";
local filters = require "util.filters";
local new_events = require "util.events".new;

local user_host, component_host = "example.test", "conference.example.test";
local failures = 0;
local function fail(case, fmt, ...)
	failures = failures + 1;
	io.stderr:write(("case %d: " .. fmt .. "\n"):format(case, ...));
	if failures >= 10 then
		io.stderr:write("stopping after 10 failures\n");
		os.exit(1);
	end
end

-- The stand-in for Prosody around the module.
local hosts = { [user_host] = { events = new_events() } };
local full_sessions = {};
local sent_by_module = {}; -- what the module passed to module:send
local hooks = {};
local fake_module = {
	host = user_host,
	get_option_number = function(_, _, default) return default; end,
	add_feature = function() end,
	log = function() end,
	hook = function(_, name, handler) hooks[name] = handler; end,
	send = function(_, stanza) sent_by_module[#sent_by_module + 1] = st.clone(stanza); end,
};
local env = setmetatable({ module = fake_module, prosody = { hosts = hosts, full_sessions = full_sessions } }, { __index = _G });
local chunk = assert(loadfile(module_file, "t", env));
chunk();

-- A client session as core/sessionmanager.lua makes one: send takes the
-- top tag for its debug log line, runs the "stanzas/out" filters, then
-- writes tostring of what they return. written records each write, the
-- top tag, and whether the module's fast paths gave them.
local written = {};
local function new_session(full_jid)
	local session = { type = "c2s", full_jid = full_jid };
	local filter = filters.initialize(session);
	session.send = function(t)
		local top = t.top_tag and t:top_tag() or t:match("^[^>]*>?");
		local fast_top = t.name and rawget(t, "top_tag") ~= nil;
		if t.name then t = filter("stanzas/out", t); end
		if t then
			written[#written + 1] = { to = full_jid, bytes = tostring(t), top = top,
				fast = type(t) == "string", fast_top = fast_top };
		end
		return true;
	end
	full_sessions[full_jid] = session;
	return session;
end

-- Filters of other modules that must still see the stanza itself: one
-- like mod_smacks (priority -999) keeps a clone; one like
-- mod_stanza_debug (10000) logs it.
local seen_by_others = {};
local function other_filter()
	return function(stanza)
		seen_by_others[#seen_by_others + 1] = st.is_stanza(stanza);
		return stanza;
	end
end

-- Random input, reproducible from the seed.
math.randomseed(seed);
local function pick(list) return list[math.random(#list)]; end
local text_chars = { "a", "b", "z", "0", " ", "'", "\"", "<", ">", "&", "é", "→", "\n" };
local function random_text(max)
	local out = {};
	for i = 1, math.random(0, max) do out[i] = pick(text_chars); end
	return table.concat(out);
end
local resource_chars = { "r", "s", "1", "'", "&", "<", ">", "\"", " ", "é" };
local function random_resource()
	local out = {};
	for i = 1, math.random(1, 6) do out[i] = pick(resource_chars); end
	return table.concat(out);
end

-- Recipients: bound sessions at the user host, some of them made before
-- the module was loaded (they get the filter at load) and some after
-- (they get it from the filter hook).
local recipients = {};
for i = 1, 12 do
	recipients[i] = ("user%d@%s/%s"):format(i, user_host, random_resource());
	new_session(recipients[i]);
end
fake_module.load();
for i = 13, 24 do
	recipients[i] = ("user%d@%s/%s"):format(i, user_host, random_resource());
	new_session(recipients[i]);
end
for _, session in pairs(full_sessions) do
	filters.add_filter(session, "stanzas/out", other_filter(), -999);
	filters.add_filter(session, "stanzas/out", other_filter(), 10000);
end

-- message/full on the user host: what mod_message does (write to the
-- session), after a handler that now and then changes the stanza in place
-- for one copy, which a handler should never do but the copies must then
-- still be what tostring writes.
local expected, mutate_for, raise_for = {}, nil, nil;
hosts[user_host].events.add_handler("message/full", function(event)
	local stanza = event.stanza;
	if stanza.attr.to == raise_for then
		error("a handler failed");
	end
	if stanza.attr.to == mutate_for then
		local how = math.random(4);
		if how == 1 then
			stanza.attr.type = "chat";
		elseif how == 2 then
			stanza:tag("mutated", { xmlns = "urn:test" }):up();
		elseif how == 3 then
			stanza.attr["xml:lang"] = nil;
		else -- the same number of children, other ones
			stanza:maptags(function(tag) return st.clone(tag):tag("mutated"):up(); end);
		end
	end
	expected[#expected + 1] = { to = stanza.attr.to, bytes = tostring(stanza), top = st.stanza_mt.top_tag(stanza) };
end, 1);
hosts[user_host].events.add_handler("message/full", function(event)
	local session = full_sessions[event.stanza.attr.to];
	return session and session.send(event.stanza);
end, -1);

local function random_message()
	local attr = { from = ("room@%s/%s"):format(component_host, random_text(8)), to = user_host, type = "groupchat" };
	if math.random(2) == 1 then attr.id = random_text(12); end
	if math.random(2) == 1 then attr["xml:lang"] = pick({ "en", "de", "x'y" }); end
	if math.random(4) == 1 then attr["urn:test\1extra"] = random_text(5); end -- namespaced attribute
	local m = st.message(attr);
	for _ = 1, math.random(0, 3) do
		local kind = math.random(4);
		if kind == 1 then
			m:tag("body"):text(random_text(40)):up();
		elseif kind == 2 then
			m:tag("stanza-id", { xmlns = "urn:xmpp:sid:0", id = random_text(10), by = "room@" .. component_host }):up();
		elseif kind == 3 then
			m:tag("x", { xmlns = "urn:test:nested" }):tag("y", { a = random_text(4) }):text(random_text(6)):up():up();
		else
			m:text(random_text(3));
		end
	end
	return m;
end

-- addresses for the chosen recipients; bad ones now and then.
local function add_addresses(m, chosen)
	local xmlns = "http://jabber.org/protocol/address";
	m:tag("addresses", { xmlns = xmlns });
	local bad = math.random(8) == 1;
	for i, to in ipairs(chosen) do
		local attr = { xmlns = xmlns, type = "bcc", jid = to };
		if bad and i == #chosen then
			attr = pick({ { xmlns = xmlns, type = "to", jid = to }, { xmlns = xmlns, type = "bcc" },
				{ xmlns = xmlns, type = "bcc", jid = "a@b@c/" }, { xmlns = xmlns, type = "bcc", jid = "" } });
		end
		m:tag("address", attr):up();
	end
	m:up();
	return bad;
end

local component = { type = "component", host = component_host };
local lists = {}; -- list id -> version held, to exercise list-only messages
for case = 1, cases do
	local m = random_message();
	local chosen = {};
	for _, to in ipairs(recipients) do
		if math.random(3) > 1 then chosen[#chosen + 1] = to; end
	end
	if #chosen == 0 then chosen[1] = recipients[1]; end
	local list_id = "room" .. math.random(3) .. "@" .. component_host;
	local list_only = lists[list_id] and math.random(2) == 1;
	local bad = false;
	if list_only then
		chosen = lists[list_id].chosen;
		m:tag("list", { xmlns = "urn:cusax:multicast:list:0", id = list_id, v = lists[list_id].v }):up();
	else
		bad = add_addresses(m, chosen);
		if math.random(2) == 1 then
			local v = tostring(case);
			m:tag("list", { xmlns = "urn:cusax:multicast:list:0", id = list_id, v = v }):up();
			if not bad then lists[list_id] = { v = v, chosen = chosen }; end
		end
	end
	mutate_for = math.random(4) == 1 and pick(chosen) or nil;
	raise_for = not bad and math.random(20) == 1 and pick(chosen) or nil;

	written, expected, seen_by_others, sent_by_module = {}, {}, {}, {};
	component.send = function(reply) sent_by_module[#sent_by_module + 1] = reply; end
	local ok, handled = pcall(hooks["message/host"], { origin = component, stanza = m });
	if raise_for then
		-- The error reaches Prosody (which logs it), the copies before
		-- it were written, and the module is left as before.
		local before = 0;
		for i, to in ipairs(chosen) do
			if to == raise_for then before = i - 1; break; end
		end
		if ok then fail(case, "a handler's error was swallowed"); end
		if #written ~= before then fail(case, "%d copies written before the failing one, want %d", #written, before); end
		chosen = { table.unpack(chosen, 1, before) };
	elseif not ok then
		fail(case, "the handler raised %s", tostring(handled));
	elseif not handled then
		fail(case, "the module did not take a multicast stanza");
	end

	if bad then
		if #written ~= 0 then fail(case, "a refused stanza still delivered %d copies", #written); end
		local reply = sent_by_module[1];
		if #sent_by_module ~= 1 or reply.attr.type ~= "error" then
			fail(case, "a refused stanza was not answered with exactly one error");
		end
	else
		if #written ~= #chosen then fail(case, "%d copies written for %d recipients", #written, #chosen); end
		for i, copy in ipairs(written) do
			local want = expected[i];
			if copy.to ~= chosen[i] then fail(case, "copy %d went to %q, not %q", i, copy.to, chosen[i]); end
			if not want or copy.bytes ~= want.bytes then
				fail(case, "copy %d to %q:\n wrote %s\n  want %s", i, copy.to, copy.bytes, want and want.bytes);
			end
			if want and copy.top ~= want.top then
				fail(case, "copy %d to %q has top tag\n %s\n want %s", i, copy.to, copy.top, want.top);
			end
			-- Unless a handler changed the stanza, the copies of a message
			-- to several recipients are written from the bytes made once.
			if #chosen > 1 and not mutate_for and not (copy.fast and copy.fast_top) then
				fail(case, "copy %d of %d was serialised whole (stanza: %s, top tag: %s)", i, #chosen, not copy.fast, not copy.fast_top);
			end
		end
		for i, is_stanza in ipairs(seen_by_others) do
			if not is_stanza then fail(case, "another filter saw bytes instead of the stanza (call %d)", i); end
		end
		if m.attr.to ~= user_host then fail(case, "the stanza's to was left as %q", tostring(m.attr.to)); end
		if rawget(m, "top_tag") ~= nil then fail(case, "the stanza's own top_tag was left behind"); end
		-- Once delivered, the stanza is serialised whole again.
		local session = full_sessions[recipients[1]];
		local again = session.filter("stanzas/out", m);
		if type(again) ~= "table" then fail(case, "the filter still turns the stanza into bytes after delivery"); end
	end
end

-- Unloading takes the filter away from every session.
fake_module.unload();
for jid, session in pairs(full_sessions) do
	local list = session.filters["stanzas/out"];
	if #list ~= 2 then fail(0, "%s still has %d stanzas/out filters after unload, want 2", jid, #list); end
end

if failures > 0 then os.exit(1); end
print(("ok: %d cases, seed %d"):format(cases, seed));
