-- Many messages on one connection, GTUBE and clean in turn: every one
-- gets its own verdict.
dofile(dir .. "/common.lua")
local conn = open()
local n = tonumber(count or "100")
for i = 1, n do
	envelope(conn, string.format("MANY%04d", i))
	check(mt.header(conn, "Subject", "message " .. i) == nil, "subject")
	if i % 2 == 1 then
		check(mt.bodystring(conn, GTUBE .. "\r\n") == nil, "body")
		check(eom(conn) == SMFIR_REPLYCODE, "GTUBE " .. i .. " rejected")
	else
		check(mt.bodystring(conn, "Clean message " .. i .. ".\r\n") == nil, "body")
		check(eom(conn) == SMFIR_ACCEPT, "clean " .. i .. " accepted")
	end
end
ok("many-" .. n)
mt.disconnect(conn)
