complete -c shipper -s F -l follow -d 'Follow files like `tail -F`, across rotation and truncation; a PATTERN may hold globs (quote it); repeatable' -r
complete -c shipper -l read-from -d 'Where to start in a file seen for the first time, when the run starts: `beginning` or `end`. Files that appear later, and files in the checkpoint, are read from their beginning or saved position' -r -f -a "beginning\t'From the first byte'
end\t'From the end: only lines written from now on'"
complete -c shipper -l checkpoint -d 'Save how far each file was delivered to this file, and resume from it when shipper starts again (at-least-once across restarts)' -r -F
complete -c shipper -l show-checkpoint -d 'Print the positions saved in --checkpoint (of the FILEs given, or all), and exit: a table, or one JSON object with `--show-checkpoint=json` (see docs/summary.md)' -r -f -a "text\t'A table for a person'
json\t'One JSON object'"
complete -c shipper -l glob-interval -d 'How often --follow patterns are expanded again for new files' -r
complete -c shipper -l rotate-wait -d 'How long a file renamed away (rotated) is still read, so the lines written just before the rotation are not lost' -r
complete -c shipper -l exclude-file -d 'Leave files out of every --follow pattern\'s expansion: a glob matched against each file\'s name and its whole path (`\'*.bak\'`, `\'/var/log/app/debug-*\'`). Compressed files are always left out. Repeatable' -r
complete -c shipper -l sink -d 'Where events go: `stdout`, `file[=PATH]`, `http=URL`, `nats=URL/SUBJECT`, `syslog=URL`, `elasticsearch=URL/INDEX`, `opensearch=URL/INDEX`, `otlp=URL`, `loki=URL` or `splunk=URL`; repeat for several [default: stdout]' -r -f -a "stdout\t''
file\t''
file=\t''
http=\t''
nats=\t''
syslog=\t''
elasticsearch=\t''
opensearch=\t''
otlp=\t''
loki=\t''
splunk=\t''"
complete -c shipper -l dead-letter -d 'Keep every event a sink gives up on (its retries spent, or turned away by the collector) in this file, one JSON line each with the sink, the reason and the event byte for byte, made durable before the checkpoint moves past it. Give the file as FILE to send its events again' -r -F
complete -c shipper -l file-path -d 'Path written by a bare `--sink file`' -r -F
complete -c shipper -l file-max-bytes -d 'Rotate a file sink before it would grow past this size (`100MiB`, `1G`, `65536`). No rotation when unset' -r
complete -c shipper -l file-max-files -d 'How many rotated files (`PATH.1` … `PATH.N`) a file sink keeps' -r
complete -c shipper -l http-format -d 'How an HTTP sink sends a batch: `ndjson` (one event a line) or `json` (one array)' -r -f -a "ndjson\t'One event a line (`application/x-ndjson`)'
json\t'One JSON array of events (`application/json`)'"
complete -c shipper -l http-header -d 'Add a header to every HTTP request, `Name: value` (repeatable)' -r
complete -c shipper -l http-token -d 'Bearer token sent as `Authorization`; set it through the environment so that it never shows in the process list' -r
complete -c shipper -l http-timeout -d 'Longest one HTTP request may take, answer included' -r
complete -c shipper -l http-ca-file -d 'Trust this PEM certificate (a private CA) as well as the system\'s' -r -F
complete -c shipper -l es-api-key -d 'An Elasticsearch or OpenSearch API key (the encoded `id:key`), sent as `Authorization: ApiKey`; set it through the environment' -r
complete -c shipper -l otlp-encoding -d 'How the OTLP sink encodes a request: `protobuf` or `json`' -r -f -a "protobuf\t'Protocol buffers (`application/x-protobuf`)'
json\t'OTLP\'s JSON mapping (`application/json`)'"
complete -c shipper -l otlp-service -d 'The `service.name` the OTLP sink gives its logs [default: the value of `--field service=...`, else `shipper`]' -r
complete -c shipper -l loki-label -d 'A label every Loki stream carries, KEY=VALUE (repeatable); `level` is added from each event' -r
complete -c shipper -l splunk-token -d 'The Splunk HTTP Event Collector token, sent as `Authorization: Splunk`; set it through the environment' -r
complete -c shipper -l splunk-sourcetype -d 'The `sourcetype` of the events the Splunk sink sends' -r
complete -c shipper -l retry-initial -d 'First wait before a network sink (HTTP, NATS, syslog) retries a failed write; it doubles each time' -r
complete -c shipper -l retry-max-delay -d 'Longest wait between two attempts (Retry-After included)' -r
complete -c shipper -l retry-max -d 'Attempts at one batch before it is given up as `sink_error`' -r
complete -c shipper -l nats-stream -d 'Create this JetStream stream (file storage, capturing the NATS sink\'s subject) when no stream captures the subject yet' -r
complete -c shipper -l nats-user -d 'User name for NATS, with --nats-password' -r
complete -c shipper -l nats-password -d 'Password for NATS; set it through the environment so that it never shows in the process list' -r
complete -c shipper -l nats-token -d 'Token for NATS; set it through the environment' -r
complete -c shipper -l nats-creds -d 'A NATS credentials file (user JWT and NKey seed)' -r -F
complete -c shipper -l nats-ca-file -d 'For NATS over TLS (`nats=tls://`, or a server that requires it): trust this PEM certificate (a private CA) as well as the system\'s' -r -F
complete -c shipper -l nats-timeout -d 'Longest wait for NATS to connect, answer, or acknowledge a publish; an event not acknowledged by then is published again' -r
complete -c shipper -l syslog-app-name -d 'APP-NAME of the syslog messages' -r
complete -c shipper -l syslog-facility -d 'Facility of the syslog messages: user, daemon, local0 to local7... (RFC 5424\'s, by the names servers give them)' -r -f -a "kern\t''
user\t''
mail\t''
daemon\t''
auth\t''
syslog\t''
lpr\t''
news\t''
uucp\t''
cron\t''
authpriv\t''
ftp\t''
ntp\t''
audit\t''
alert\t''
clock\t''
local0\t''
local1\t''
local2\t''
local3\t''
local4\t''
local5\t''
local6\t''
local7\t''"
complete -c shipper -l syslog-max-message -d 'Longest syslog message sent over TCP, its octet count aside: longer ones are cut and flagged. The default is syslog-ng\'s `log_msg_size`, past which it closes the connection. (Over UDP, 2048 bytes.)' -r
complete -c shipper -l syslog-timeout -d 'Longest a syslog server may take to accept a TCP connection, or to take any of a batch\'s data; then the connection is dropped and the batch sent again on a new one (as the --retry-* flags allow)' -r
complete -c shipper -l syslog-ca-file -d 'For `syslog=tls://` servers: trust this PEM certificate (a private CA) as well as the system\'s' -r -F
complete -c shipper -l field -d 'Add KEY=VALUE to every event\'s `data` (repeatable; the input\'s own keys win). Not with --raw, which has no `data`' -r
complete -c shipper -l format -d 'How lines are read: `auto` tells each line\'s format by its first bytes (JSON, syslog, an access log, logfmt, else plain text with the header applications print); a named format reads every line so, and a line that is not in it is read as plain text (strict mode: dropped as `invalid`)' -r -f -a "auto\t'Each line\'s own, told by its first bytes'
json\t'JSON objects, with the names JSON loggers use'
logfmt\t'`key=value` pairs'
syslog\t'RFC 5424 and RFC 3164 (BSD) syslog, and syslog daemons\' files'
clf\t'The common and combined log formats of web servers'
text\t'Plain text, with the header applications print'"
complete -c shipper -l message-key -d 'The member of a JSON line that holds its message, read before the names loggers use (`message`, `msg`, `@m`, `MESSAGE`...)' -r
complete -c shipper -l level-key -d 'The member of a JSON line that holds its level, read before the names loggers use (`level`, `severity`, `levelname`, `@l`...)' -r
complete -c shipper -l timestamp-key -d 'The member of a JSON line that holds its time, read before the names loggers use (`timestamp`, `time`, `ts`, `@timestamp`...)' -r
complete -c shipper -l level-from -d 'Where a plain-text line\'s level comes from: `auto` reads a level word where loggers put it (`ERROR ...`, `[warn]`, `level=info`, after the leading time), never inside a path or another word; `none` leaves such lines at INFO. The level a line\'s header or JSON member states counts either way' -r -f -a "auto\t'The level word where loggers put it'
none\t'INFO, whatever the words'"
complete -c shipper -l max-line-bytes -d 'Longest line kept whole; longer lines are cut (best-effort) or rejected (strict), and memory never grows past this bound' -r
complete -c shipper -l multiline -d 'How lines join into multi-line events: `auto` joins the stack traces of Python, the JVM, Node, Go and Rust, and lines indented under a line that is not, into the event of the line they belong to; `off` makes every line an event; `start=REGEX`: a line matching starts an event and the others continue it; `continue=REGEX`: a line matching continues the event before it. JSON lines are never joined' -r
complete -c shipper -l multiline-timeout -d 'How long a multi-line event waits for its next line before it ships' -r
complete -c shipper -l multiline-max-lines -d 'Most lines one multi-line event holds: past them it is cut (flagged `truncated`) and the rest goes on in an event of its own' -r
complete -c shipper -l queue-capacity -d 'How many events the queue holds before intake waits (or drops)' -r
complete -c shipper -l queue-max-bytes -d 'How many bytes of lines the queue holds, whatever their number' -r
complete -c shipper -l backpressure-wait -d 'With --drop-on-full: how long a line waits for room before it is dropped' -r
complete -c shipper -l protect-level -d 'With --drop-on-full: lines at or above this level wait for room instead of being dropped' -r -f -a "debug\t''
info\t''
warning\t''
error\t''
critical\t''"
complete -c shipper -l min-level -d 'Set aside events below this level (counted `filtered`, reason `level`; never dropped)' -r -f -a "debug\t''
info\t''
warning\t''
error\t''
critical\t''"
complete -c shipper -l include -d 'Ship only events whose message matches one of these patterns (repeatable; Rust regex syntax)' -r
complete -c shipper -l exclude -d 'Set aside events whose message matches any of these patterns (repeatable)' -r
complete -c shipper -l sample -d 'Keep one event in N of each source (the first, then every Nth)' -r
complete -c shipper -l rate-limit -d 'Ship at most N events a second from each source, with a burst of N; the rest are set aside (`N/s` or `N`)' -r
complete -c shipper -l redact -d 'What to hide in every line before it ships: `credentials` (secret keys\' values, tokens and keys by their shapes, private keys, URL passwords), `pii` (e-mail addresses, card numbers, IBANs), or `none`' -r -f -a "credentials\t'Secret keys\' values, tokens, keys, private keys, URL passwords'
pii\t'E-mail addresses, card numbers (Luhn), IBANs (checksum)'
none\t'Hide nothing'"
complete -c shipper -l redact-key -d 'Also hide the value of this key, in JSON members and `key=value` pairs, in any case (repeatable)' -r
complete -c shipper -l redact-pattern -d 'Also hide what this pattern matches: its first group if it has one, else the whole match (repeatable)' -r
complete -c shipper -l redact-hash -d 'Write a keyed hash of each hidden value (HMAC-SHA256 with this key, 16 hex digits) instead of [REDACTED], so equal values still match' -r
complete -c shipper -l batch-size -d 'Most events in one batch' -r
complete -c shipper -l batch-timeout -d 'Longest a partly filled batch waits before it is written' -r
complete -c shipper -l shutdown-timeout -d 'Longest the drain may take once input ends or a signal arrives; what is still in flight then is counted `shutdown_timeout`' -r
complete -c shipper -l summary -d 'How the drain summary is printed on stderr at exit' -r -f -a "text\t'One or two lines for a person'
json\t'One JSON object'
none\t'Nothing'"
complete -c shipper -l summary-file -d 'Also write the summary as JSON to this file' -r -F
complete -c shipper -l progress -d 'A status line on stderr while running: `auto` shows it when stderr is a terminal that stdout does not write the events to' -r -f -a "auto\t'When stderr is a terminal the events do not go to'
always\t'Wherever stderr goes, the terminal of the events included'
never\t''"
complete -c shipper -l log-format -d 'How shipper\'s own warnings and errors are written on stderr: `auto` writes text to a terminal and JSON lines elsewhere' -r -f -a "auto\t'Text when stderr is a terminal, JSON lines otherwise'
text\t'`shipper: warning: ...`, for a person'
json\t'One JSON object a line, for a program'"
complete -c shipper -l stats-interval -d 'While running, write the summary\'s figures so far to stderr as one JSON line (`"type":"stats"`) at this interval' -r
complete -c shipper -l metrics-addr -d 'While running, serve the counters in the Prometheus text format on http://HOST:PORT/metrics' -r
complete -c shipper -l config -d 'Read settings from this TOML file, keyed by the long flags' -r -F
complete -c shipper -l generate -d 'Print the man page or a shell\'s completions, and exit' -r -f -a "man\t''
bash\t''
zsh\t''
fish\t''
elvish\t''
powershell\t''"
complete -c shipper -l reset-checkpoint -d 'Forget the positions saved in --checkpoint for the FILEs given (as --show-checkpoint names them), or for every file; then exit'
complete -c shipper -l poll -d 'Look at followed files every 250ms instead of being told of changes by inotify (for network filesystems)'
complete -c shipper -l http-gzip -d 'Compress HTTP request bodies with gzip'
complete -c shipper -l strict-envelope -d 'Reject (and count as `invalid`) any line that is not a well-formed JSON event, instead of wrapping it as best it can'
complete -c shipper -l raw -d 'Ship each line byte for byte, without an envelope'
complete -c shipper -l drop-on-full -d 'When the queue is full, drop new lines (counted `queue_full`) instead of making the writer wait'
complete -c shipper -l gap-markers -d 'After events were dropped, write one event into the stream saying how many and why, where they would have been'
complete -c shipper -s q -l quiet -d 'Quiet: no status line and no text summary (a JSON summary, the summary file, warnings and errors are still written)'
complete -c shipper -s v -l verbose -d 'Also report routine events on stderr: sinks opened and closed, and every retry of a network sink (its attempt, wait and reason)'
complete -c shipper -l check-config -d 'Check the settings (flags, environment, config file) and exit'
complete -c shipper -l print-config -d 'Print the settings in effect (config file, environment and flags merged) as a config file, secrets hidden, and exit'
complete -c shipper -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipper -s V -l version -d 'Print version'
