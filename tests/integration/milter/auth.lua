-- An authenticated sender ({auth_authen} at MAIL) with [milter]
-- authenticated = accept: not scanned, GTUBE goes through; our namespace
-- is still cleaned.
dofile(dir .. "/common.lua")
local conn = open()
mt.macro(conn, SMFIC_MAIL, "i", "AUTH1", "{auth_authen}", "alice")
check(mt.mailfrom(conn, "<alice@example.org>") == nil, "mail")
check(mt.rcptto(conn, "<b@example.com>") == nil, "rcpt")
check(mt.header(conn, "Subject", "from alice") == nil, "subject")
check(mt.header(conn, "X-Spam-Flag", "YES") == nil, "spoofed")
check(mt.bodystring(conn, GTUBE .. "\r\n") == nil, "body")
check(eom(conn) == SMFIR_ACCEPT, "authenticated sender accepted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag"), "spoofed field deleted")
check(not mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Status"), "no scan, no X-Spam-Status")
ok("authenticated-accepted")
mt.disconnect(conn)
