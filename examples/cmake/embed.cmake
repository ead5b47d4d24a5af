# cmake -DINPUT=file -DOUTPUT=header.h -DSYMBOL=name -P embed.cmake
# Writes `static const char name[] = {...};` holding INPUT's bytes and a final NUL, so a
# generated shader include can be compiled into a C program. The header is replaced only
# when its content changes.
foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}=... is required")
  endif()
endforeach()
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
  "/* ${name}, embedded by embed.cmake: do not edit. */\n"
  "static const char ${SYMBOL}[] = {\n  ${bytes}0x00};\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
