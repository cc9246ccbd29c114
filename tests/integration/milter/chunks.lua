-- The body in many small chunks: the message is reassembled as a whole
-- (GTUBE cut across two chunks is still found), and a long clean body in
-- 2,000 chunks is accepted and tagged with our fields.
dofile(dir .. "/common.lua")
local conn = open()

envelope(conn, "CHUNK1")
check(mt.header(conn, "Subject", "split GTUBE") == nil, "subject")
check(mt.bodystring(conn, "first line\r\n" .. string.sub(GTUBE, 1, 30)) == nil, "chunk a")
check(mt.bodystring(conn, string.sub(GTUBE, 31) .. "\r\n") == nil, "chunk b")
for i = 1, 200 do
	check(mt.bodystring(conn, "x") == nil, "chunk " .. i)
end
check(mt.bodystring(conn, "\r\n") == nil, "chunk end")
check(eom(conn) == SMFIR_REPLYCODE, "split GTUBE rejected")
ok("split-gtube-rejected")

envelope(conn, "CHUNK2")
check(mt.header(conn, "Subject", "many chunks") == nil, "subject")
for i = 1, 2000 do
	check(mt.bodystring(conn, string.format("line %05d of a long and clean message\r\n", i)) == nil,
	      "chunk " .. i)
end
check(eom(conn) == SMFIR_ACCEPT, "clean message accepted")
check(mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Score"), "X-Spam-Score inserted")
check(mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Status"), "X-Spam-Status inserted")
ok("many-chunks-accepted")
mt.disconnect(conn)
