# Writes OUT, a C++ source holding every file of DIR (*.html, *.js, *.css, *.svg) as
# bytes, for hub/dashboard.h's dashboard_files(). Run by the build:
#   cmake -DDIR=<hub/dashboard> -DOUT=<file.cc> -P embed.cmake
file(GLOB names RELATIVE ${DIR} ${DIR}/*.html ${DIR}/*.js ${DIR}/*.css ${DIR}/*.svg)
list(SORT names)
set(arrays "")
set(entries "")
set(i 0)
foreach(name ${names})
  file(READ ${DIR}/${name} hex HEX)
  string(LENGTH "${hex}" digits)
  math(EXPR size "${digits} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND arrays "const unsigned char kFile${i}[] = {${bytes}0};\n")
  string(APPEND entries
    "    {\"${name}\", std::string_view(reinterpret_cast<const char*>(kFile${i}), ${size})},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT}.tmp
"// Generated from hub/dashboard/ by hub/dashboard/embed.cmake at build time; do not edit.
#include \"hub/dashboard.h\"

namespace reflex::hub {
namespace {
${arrays}
const DashboardFile kFiles[] = {
${entries}};
}  // namespace

std::span<const DashboardFile> dashboard_files() { return kFiles; }

}  // namespace reflex::hub
")
# Only a changed file makes the hub recompile.
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
