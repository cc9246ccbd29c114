-- A transaction aborted in the middle of the body (RSET, client gone):
-- nothing is decided for it, and the next message on the same connection
-- is scanned on its own (the GTUBE of the aborted one does not leak).
dofile(dir .. "/common.lua")
local conn = open()

envelope(conn, "ABORT1")
check(mt.header(conn, "Subject", "aborted") == nil, "subject")
check(mt.bodystring(conn, GTUBE .. "\r\n") == nil, "body part")
check(mt.abort(conn) == nil, "abort")
ok("aborted")

envelope(conn, "ABORT2")
check(mt.header(conn, "Subject", "after the abort") == nil, "subject")
check(mt.bodystring(conn, "A clean message.\r\n") == nil, "body")
check(eom(conn) == SMFIR_ACCEPT, "next message accepted")
ok("next-accepted")
mt.disconnect(conn)
