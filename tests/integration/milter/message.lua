-- One message from a file (the same bytes mxmoat scan and the proxy get):
-- -D msg=FILE (header fields "Name: value" CRLF, a blank line, the body),
-- -D from=, -D rcpt=, -D qid=. Prints the reply as a character.
dofile(dir .. "/common.lua")
local conn = open()
local f = assert(io.open(msg, "rb"))
local data = f:read("*a")
f:close()
local sep = string.find(data, "\r\n\r\n", 1, true)
local head = string.sub(data, 1, sep + 1)
local body = string.sub(data, sep + 4)
mt.macro(conn, SMFIC_MAIL, "i", qid)
check(mt.mailfrom(conn, "<" .. from .. ">") == nil, "mail")
check(mt.rcptto(conn, "<" .. rcpt .. ">") == nil, "rcpt")
-- unfold into fields: a line starting with a blank continues the field
local name, value = nil, nil
for line in string.gmatch(head, "(.-)\r\n") do
	if string.match(line, "^[ \t]") then
		value = value .. "\r\n" .. line
	else
		if name ~= nil then
			check(mt.header(conn, name, value) == nil, "header " .. name)
		end
		name, value = string.match(line, "^([^:]+):(.*)$")
		-- miltertest puts one space after the colon itself
		if value ~= nil and string.sub(value, 1, 1) == " " then
			value = string.sub(value, 2)
		end
	end
end
if name ~= nil then
	check(mt.header(conn, name, value) == nil, "header " .. name)
end
-- the body in chunks of 64K, as an MTA sends it
local pos = 1
while pos <= string.len(body) do
	check(mt.bodystring(conn, string.sub(body, pos, pos + 65535)) == nil, "body")
	pos = pos + 65536
end
print("reply " .. string.char(eom(conn)))
mt.disconnect(conn)
