-- common.lua - helpers for the miltertest scripts of test_milter.py.
-- miltertest -D port=N -D dir=DIR -s SCRIPT; each script loads this with
-- dofile(dir .. "/common.lua"). A failed check calls error(), which makes
-- miltertest exit non-zero; pytest reads the "ok ..." lines it prints.

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

function check(cond, what)
	if not cond then
		error("FAILED: " .. what)
	end
end

function ok(what)
	print("ok " .. what)
end

-- a connection with negotiation, connect, HELO done
function open(name)
	local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 40, 0.05)
	check(conn ~= nil, "connect")
	check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
	check(mt.conninfo(conn, name or "client.example", "192.0.2.7") == nil, "conninfo")
	check(mt.helo(conn, "client.example") == nil, "helo")
	return conn
end

-- envelope and the usual header fields of one message
function envelope(conn, qid, from, rcpt)
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	check(mt.mailfrom(conn, "<" .. (from or "a@example.org") .. ">") == nil, "mail")
	check(mt.rcptto(conn, "<" .. (rcpt or "b@example.com") .. ">") == nil, "rcpt")
	check(mt.header(conn, "From", "<a@example.org>") == nil, "header From")
	check(mt.header(conn, "To", "<b@example.com>") == nil, "header To")
	check(mt.header(conn, "Date", "Tue, 01 Dec 2026 12:00:00 +0000") == nil, "header Date")
	check(mt.header(conn, "Message-ID", "<" .. qid .. "@example.org>") == nil, "header Message-ID")
end

function eom(conn)
	check(mt.eom(conn) == nil, "eom")
	return mt.getreply(conn)
end
