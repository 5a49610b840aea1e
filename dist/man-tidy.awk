# scdoc output -> the same rendered page without the paragraph macros mandoc -T lint warns
# about: a .P right after a section heading or followed by another block macro is dropped
# (mandoc drops it too), and scdoc's ".P" + ".RE" that ends an indented item becomes
# ".RE" + ".sp" (the same blank line, said where it is not empty), as does a ".P" before
# the ".RS" of a list. Used by the man page
# rules in dist/module.mk.
function block(l) { return l ~ /^\.(SH|SS|P|PP|LP|TP|IP|RS|TH|sp)( |$)/ }
/^\.(P|PP|LP)$/ { if (pending == "" && prev !~ /^\.(SH|SS|TH)( |$)/) pending = $0; next }
/^\.RE( |$)/ && pending != "" { print; prev = $0; pending = ".sp"; next }
{
	if (pending != "" && /^\.RS( |$)/ && prev !~ /^\.(SH|SS|TH)( |$)/)
		print ".sp"	# the blank line before a list
	else if (pending != "" && !block($0))
		print pending
	pending = ""
	print
	prev = $0
}
