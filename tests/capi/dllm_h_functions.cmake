# dllm_h_functions(<header> <out-var>): the names of the functions dllm.h declares with DLLM_API.
function(dllm_h_functions header out_var)
  file(READ "${header}" text)
  # Drop comments so that prose mentioning DLLM_API cannot match.
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
  string(REGEX MATCHALL "DLLM_API[ \t\r\n]+[^(;#]*[ *\t\r\n](dllm_[a-z0-9_]+)[ \t\r\n]*\\("
         decls "${text}")
  set(names)
  foreach(d IN LISTS decls)
    string(REGEX MATCH "(dllm_[a-z0-9_]+)[ \t\r\n]*\\($" _ "${d}")
    list(APPEND names "${CMAKE_MATCH_1}")
  endforeach()
  list(REMOVE_DUPLICATES names)
  set(${out_var} "${names}" PARENT_SCOPE)
endfunction()
