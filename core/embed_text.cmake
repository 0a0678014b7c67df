# Turns a text file into a C++ header with a raw string literal (the corpus is embedded in the binary).
# Usage: cmake -DINPUT=... -DOUTPUT=... -DNAME=... -P embed_text.cmake
file(READ "${INPUT}" content)
# A raw string literal's delimiter must not occur in the text; the corpus is checked ASCII prose.
set(delimiter "corpus")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by core/embed_text.cmake. Do not edit.\n#pragma once\n"
  "inline constexpr const char* ${NAME} = R\"${delimiter}(${content})${delimiter}\";\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
