# outbox_add_cases(LAYER RUNNER [ARGS arg...] [LABELS l...]
#                  [FIXTURES f...] [TIMEOUT s])
# One ctest test LAYER/NAME for every line of "RUNNER --list", running
# "RUNNER ARGS... NAME" (the runner convention of tests/lib/outboxtest/
# cases.py).  The names are left in ${LAYER}_CASES for per-case
# properties; adding a case re-runs the configuration.
set(OUTBOX_TEST_PYTHON /usr/bin/python3 CACHE FILEPATH
	"Python 3 interpreter for the Python test runners")

function(outbox_add_cases layer runner)
	cmake_parse_arguments(PARSE_ARGV 2 arg "" "TIMEOUT"
		"ARGS;LABELS;FIXTURES;DEPENDS_ON")
	execute_process(COMMAND ${OUTBOX_TEST_PYTHON} -B ${runner} --list
		OUTPUT_VARIABLE text RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0 OR text STREQUAL "")
		message(FATAL_ERROR "${runner} --list failed (${rc})")
	endif()
	set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
		${runner} ${arg_DEPENDS_ON})
	string(REPLACE "\n" ";" names "${text}")
	list(REMOVE_ITEM names "")
	if(NOT arg_TIMEOUT)
		set(arg_TIMEOUT 60)
	endif()
	foreach(name IN LISTS names)
		add_test(NAME ${layer}/${name}
			COMMAND ${OUTBOX_TEST_PYTHON} -B ${runner} ${arg_ARGS} ${name})
		set_tests_properties(${layer}/${name} PROPERTIES
			LABELS "${arg_LABELS}" TIMEOUT ${arg_TIMEOUT})
		if(arg_FIXTURES)
			set_tests_properties(${layer}/${name} PROPERTIES
				FIXTURES_REQUIRED "${arg_FIXTURES}")
		endif()
	endforeach()
	set(${layer}_CASES ${names} PARENT_SCOPE)
endfunction()
