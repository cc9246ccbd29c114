-- Very long header fields: a 1,000-byte Subject (miltertest itself
-- crashes on much longer ones), a field folded over 30 lines, and a long
-- spoofed X-Spam-Status that must be deleted. The subject prefix is
-- applied to the long subject, folds kept.
dofile(dir .. "/common.lua")
local conn = open()

envelope(conn, "LONG1")
local long = string.rep("word ", 200)
check(mt.header(conn, "Subject", long) == nil, "long subject")
local folded = "start"
for i = 1, 30 do
	folded = folded .. "\n\tcontinuation-" .. i
end
check(mt.header(conn, "X-Folded", folded) == nil, "folded field")
check(mt.header(conn, "X-Spam-Status", "Yes, spoofed " .. string.rep("A,", 300)) == nil, "spoofed")
check(mt.header(conn, "X-Spam-Flag", "YES") == nil, "spoofed flag")
check(mt.bodystring(conn, (rewrite and GTUBE or "Hello.") .. "\r\n") == nil, "body")
check(eom(conn) == SMFIR_ACCEPT, "accepted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Status"), "spoofed X-Spam-Status deleted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "spoofed X-Spam-Flag deleted")
check(mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Status"), "our X-Spam-Status inserted")
ok("long-headers-accepted")
if rewrite then
	check(mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "subject prefixed")
	ok("long-subject-prefixed")
end
mt.disconnect(conn)
