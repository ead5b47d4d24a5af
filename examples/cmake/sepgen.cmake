# sepgen_generate(): run `sepgen build` as part of a CMake build.
#
#   include(path/to/sepgen.cmake)
#   sepgen_generate(TARGET blur_shaders
#                   CONFIG ${CMAKE_CURRENT_SOURCE_DIR}/sepgen.toml
#                   OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/shaders
#                   OUTPUTS bokeh/glsl/bokeh.glsl bokeh/hlsl/bokeh.hlsli)
#
# TARGET   custom target that is up to date when the shaders are
# CONFIG   the sepgen build config (relative paths: to the current source folder)
# OUT_DIR  where the shaders go (overrides the config's [output] dir; relative paths:
#          to the current binary folder)
# OUTPUTS  generated files (relative to OUT_DIR) that other rules depend on; they are
#          declared as byproducts so CMake knows which rule makes them
#
# sepgen reruns when the config, any kernel image it reads or sepgen itself changes
# (the DEPFILE that `sepgen build --depfile` writes names them, sepgen's installed
# sources and templates included, so upgrading sepgen regenerates; the sepgen
# executable is a dependency too), and on a rerun it refits only what changed and
# rewrites only files whose content changed, so consumers of an unchanged shader
# are not rebuilt (Ninja restats byproducts). `sepgen build --check` says
# "sepgen changed" when the outputs were made by another sepgen version.
#
# The sepgen executable: SEPGEN_EXECUTABLE, else `sepgen` on PATH.
# Needs CMake >= 3.21 (DEPFILE with the Makefile generators).

function(sepgen_generate)
  cmake_parse_arguments(PARSE_ARGV 0 SG "" "TARGET;CONFIG;OUT_DIR" "OUTPUTS")
  foreach(arg TARGET CONFIG OUT_DIR)
    if(NOT SG_${arg})
      message(FATAL_ERROR "sepgen_generate: ${arg} is required")
    endif()
  endforeach()
  if(SG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sepgen_generate: unknown arguments: ${SG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT SEPGEN_EXECUTABLE)
    find_program(SEPGEN_EXECUTABLE sepgen REQUIRED)
  endif()

  get_filename_component(config "${SG_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(out_dir "${SG_OUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  # The stamp is touched by every successful run, so the rule's output is newer than its
  # inputs even when no shader changed (which keeps its old mtime).
  set(stamp "${out_dir}/.sepgen-stamp")
  set(depfile "${CMAKE_CURRENT_BINARY_DIR}/${SG_TARGET}.sepgen.d")
  set(byproducts "${out_dir}/sepgen-build.json")
  foreach(rel IN LISTS SG_OUTPUTS)
    list(APPEND byproducts "${out_dir}/${rel}")
  endforeach()

  set(deps "${config}")
  if(EXISTS "${SEPGEN_EXECUTABLE}")  # a reinstalled sepgen script reruns the step
    list(APPEND deps "${SEPGEN_EXECUTABLE}")
  endif()

  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS ${byproducts}
    COMMAND "${SEPGEN_EXECUTABLE}" build "${config}" --out-dir "${out_dir}"
            --depfile "${depfile}" --stamp "${stamp}"
    DEPENDS ${deps}
    DEPFILE "${depfile}"
    COMMENT "sepgen: shaders from ${SG_CONFIG}"
    VERBATIM)
  add_custom_target(${SG_TARGET} DEPENDS "${stamp}")
  set_target_properties(${SG_TARGET} PROPERTIES SEPGEN_OUTPUT_DIR "${out_dir}")
endfunction()
