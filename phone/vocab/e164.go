package vocab

// IsE164 reports whether s is a number in E.164 form as configuration
// takes it: "+" and 4 to 15 digits, no separators (ITU-T E.164 §6: at most
// 15 digits). It checks the syntax only; cti/e164 normalises numbers
// written any other way.
func IsE164(s string) bool {
	if len(s) < 5 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
