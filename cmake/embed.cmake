# Writes OUT, a C header defining `static const char NAME[]` with the bytes
# of IN: cmake -DIN=... -DOUT=... -DNAME=... -P embed.cmake. The dashboard's
# page stays an HTML file in the tree, served from the binary.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Made from ${IN} at build time. */\nstatic const char ${NAME}[] = {\n${bytes}0x00};\n")
