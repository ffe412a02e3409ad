package sandbox

// CronJobs name time zones (spec.timeZone: Europe/Paris); the API server and
// the CronJob controller load them with time.LoadLocation. Embed Go's copy of
// the zoneinfo database so a machine without /usr/share/zoneinfo works too.
import _ "time/tzdata"
