package anydevice

// AuthRateLimited records a connection refused before its token was looked
// at, because its source failed to authenticate too often: logged and
// evented as refused by rule auth-rate, for user (as the connection named
// it) and without the token.
func (c *Controller) AuthRateLimited(user, source string) {
	_ = c.refuse(user, "auth-rate", "authentication from "+source+" rate-limited")
}
