
use builtin;
use str;

set edit:completion:arg-completer[shipper] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'shipper'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'shipper'= {
            cand -F 'Follow files like `tail -F`, across rotation and truncation; a PATTERN may hold globs (quote it); repeatable'
            cand --follow 'Follow files like `tail -F`, across rotation and truncation; a PATTERN may hold globs (quote it); repeatable'
            cand --read-from 'Where to start in a file seen for the first time, when the run starts: `beginning` or `end`. Files that appear later, and files in the checkpoint, are read from their beginning or saved position'
            cand --checkpoint 'Save how far each file was delivered to this file, and resume from it when shipper starts again (at-least-once across restarts)'
            cand --show-checkpoint 'Print the positions saved in --checkpoint (of the FILEs given, or all), and exit: a table, or one JSON object with `--show-checkpoint=json` (see docs/summary.md)'
            cand --glob-interval 'How often --follow patterns are expanded again for new files'
            cand --rotate-wait 'How long a file renamed away (rotated) is still read, so the lines written just before the rotation are not lost'
            cand --exclude-file 'Leave files out of every --follow pattern''s expansion: a glob matched against each file''s name and its whole path (`''*.bak''`, `''/var/log/app/debug-*''`). Compressed files are always left out. Repeatable'
            cand --sink 'Where events go: `stdout`, `file[=PATH]`, `http=URL`, `nats=URL/SUBJECT`, `syslog=URL`, `elasticsearch=URL/INDEX`, `opensearch=URL/INDEX`, `otlp=URL`, `loki=URL` or `splunk=URL`; repeat for several [default: stdout]'
            cand --dead-letter 'Keep every event a sink gives up on (its retries spent, or turned away by the collector) in this file, one JSON line each with the sink, the reason and the event byte for byte, made durable before the checkpoint moves past it. Give the file as FILE to send its events again'
            cand --file-path 'Path written by a bare `--sink file`'
            cand --file-max-bytes 'Rotate a file sink before it would grow past this size (`100MiB`, `1G`, `65536`). No rotation when unset'
            cand --file-max-files 'How many rotated files (`PATH.1` … `PATH.N`) a file sink keeps'
            cand --http-format 'How an HTTP sink sends a batch: `ndjson` (one event a line) or `json` (one array)'
            cand --http-header 'Add a header to every HTTP request, `Name: value` (repeatable)'
            cand --http-token 'Bearer token sent as `Authorization`; set it through the environment so that it never shows in the process list'
            cand --http-timeout 'Longest one HTTP request may take, answer included'
            cand --http-ca-file 'Trust this PEM certificate (a private CA) as well as the system''s'
            cand --es-api-key 'An Elasticsearch or OpenSearch API key (the encoded `id:key`), sent as `Authorization: ApiKey`; set it through the environment'
            cand --otlp-encoding 'How the OTLP sink encodes a request: `protobuf` or `json`'
            cand --otlp-service 'The `service.name` the OTLP sink gives its logs [default: the value of `--field service=...`, else `shipper`]'
            cand --loki-label 'A label every Loki stream carries, KEY=VALUE (repeatable); `level` is added from each event'
            cand --splunk-token 'The Splunk HTTP Event Collector token, sent as `Authorization: Splunk`; set it through the environment'
            cand --splunk-sourcetype 'The `sourcetype` of the events the Splunk sink sends'
            cand --retry-initial 'First wait before a network sink (HTTP, NATS, syslog) retries a failed write; it doubles each time'
            cand --retry-max-delay 'Longest wait between two attempts (Retry-After included)'
            cand --retry-max 'Attempts at one batch before it is given up as `sink_error`'
            cand --nats-stream 'Create this JetStream stream (file storage, capturing the NATS sink''s subject) when no stream captures the subject yet'
            cand --nats-user 'User name for NATS, with --nats-password'
            cand --nats-password 'Password for NATS; set it through the environment so that it never shows in the process list'
            cand --nats-token 'Token for NATS; set it through the environment'
            cand --nats-creds 'A NATS credentials file (user JWT and NKey seed)'
            cand --nats-ca-file 'For NATS over TLS (`nats=tls://`, or a server that requires it): trust this PEM certificate (a private CA) as well as the system''s'
            cand --nats-timeout 'Longest wait for NATS to connect, answer, or acknowledge a publish; an event not acknowledged by then is published again'
            cand --syslog-app-name 'APP-NAME of the syslog messages'
            cand --syslog-facility 'Facility of the syslog messages: user, daemon, local0 to local7... (RFC 5424''s, by the names servers give them)'
            cand --syslog-max-message 'Longest syslog message sent over TCP, its octet count aside: longer ones are cut and flagged. The default is syslog-ng''s `log_msg_size`, past which it closes the connection. (Over UDP, 2048 bytes.)'
            cand --syslog-timeout 'Longest a syslog server may take to accept a TCP connection, or to take any of a batch''s data; then the connection is dropped and the batch sent again on a new one (as the --retry-* flags allow)'
            cand --syslog-ca-file 'For `syslog=tls://` servers: trust this PEM certificate (a private CA) as well as the system''s'
            cand --field 'Add KEY=VALUE to every event''s `data` (repeatable; the input''s own keys win). Not with --raw, which has no `data`'
            cand --format 'How lines are read: `auto` tells each line''s format by its first bytes (JSON, syslog, an access log, logfmt, else plain text with the header applications print); a named format reads every line so, and a line that is not in it is read as plain text (strict mode: dropped as `invalid`)'
            cand --message-key 'The member of a JSON line that holds its message, read before the names loggers use (`message`, `msg`, `@m`, `MESSAGE`...)'
            cand --level-key 'The member of a JSON line that holds its level, read before the names loggers use (`level`, `severity`, `levelname`, `@l`...)'
            cand --timestamp-key 'The member of a JSON line that holds its time, read before the names loggers use (`timestamp`, `time`, `ts`, `@timestamp`...)'
            cand --level-from 'Where a plain-text line''s level comes from: `auto` reads a level word where loggers put it (`ERROR ...`, `[warn]`, `level=info`, after the leading time), never inside a path or another word; `none` leaves such lines at INFO. The level a line''s header or JSON member states counts either way'
            cand --max-line-bytes 'Longest line kept whole; longer lines are cut (best-effort) or rejected (strict), and memory never grows past this bound'
            cand --multiline 'How lines join into multi-line events: `auto` joins the stack traces of Python, the JVM, Node, Go and Rust, and lines indented under a line that is not, into the event of the line they belong to; `off` makes every line an event; `start=REGEX`: a line matching starts an event and the others continue it; `continue=REGEX`: a line matching continues the event before it. JSON lines are never joined'
            cand --multiline-timeout 'How long a multi-line event waits for its next line before it ships'
            cand --multiline-max-lines 'Most lines one multi-line event holds: past them it is cut (flagged `truncated`) and the rest goes on in an event of its own'
            cand --queue-capacity 'How many events the queue holds before intake waits (or drops)'
            cand --queue-max-bytes 'How many bytes of lines the queue holds, whatever their number'
            cand --backpressure-wait 'With --drop-on-full: how long a line waits for room before it is dropped'
            cand --protect-level 'With --drop-on-full: lines at or above this level wait for room instead of being dropped'
            cand --min-level 'Set aside events below this level (counted `filtered`, reason `level`; never dropped)'
            cand --include 'Ship only events whose message matches one of these patterns (repeatable; Rust regex syntax)'
            cand --exclude 'Set aside events whose message matches any of these patterns (repeatable)'
            cand --sample 'Keep one event in N of each source (the first, then every Nth)'
            cand --rate-limit 'Ship at most N events a second from each source, with a burst of N; the rest are set aside (`N/s` or `N`)'
            cand --redact 'What to hide in every line before it ships: `credentials` (secret keys'' values, tokens and keys by their shapes, private keys, URL passwords), `pii` (e-mail addresses, card numbers, IBANs), or `none`'
            cand --redact-key 'Also hide the value of this key, in JSON members and `key=value` pairs, in any case (repeatable)'
            cand --redact-pattern 'Also hide what this pattern matches: its first group if it has one, else the whole match (repeatable)'
            cand --redact-hash 'Write a keyed hash of each hidden value (HMAC-SHA256 with this key, 16 hex digits) instead of [REDACTED], so equal values still match'
            cand --batch-size 'Most events in one batch'
            cand --batch-timeout 'Longest a partly filled batch waits before it is written'
            cand --shutdown-timeout 'Longest the drain may take once input ends or a signal arrives; what is still in flight then is counted `shutdown_timeout`'
            cand --summary 'How the drain summary is printed on stderr at exit'
            cand --summary-file 'Also write the summary as JSON to this file'
            cand --progress 'A status line on stderr while running: `auto` shows it when stderr is a terminal that stdout does not write the events to'
            cand --log-format 'How shipper''s own warnings and errors are written on stderr: `auto` writes text to a terminal and JSON lines elsewhere'
            cand --stats-interval 'While running, write the summary''s figures so far to stderr as one JSON line (`"type":"stats"`) at this interval'
            cand --metrics-addr 'While running, serve the counters in the Prometheus text format on http://HOST:PORT/metrics'
            cand --config 'Read settings from this TOML file, keyed by the long flags'
            cand --generate 'Print the man page or a shell''s completions, and exit'
            cand --reset-checkpoint 'Forget the positions saved in --checkpoint for the FILEs given (as --show-checkpoint names them), or for every file; then exit'
            cand --poll 'Look at followed files every 250ms instead of being told of changes by inotify (for network filesystems)'
            cand --http-gzip 'Compress HTTP request bodies with gzip'
            cand --strict-envelope 'Reject (and count as `invalid`) any line that is not a well-formed JSON event, instead of wrapping it as best it can'
            cand --raw 'Ship each line byte for byte, without an envelope'
            cand --drop-on-full 'When the queue is full, drop new lines (counted `queue_full`) instead of making the writer wait'
            cand --gap-markers 'After events were dropped, write one event into the stream saying how many and why, where they would have been'
            cand -q 'Quiet: no status line and no text summary (a JSON summary, the summary file, warnings and errors are still written)'
            cand --quiet 'Quiet: no status line and no text summary (a JSON summary, the summary file, warnings and errors are still written)'
            cand -v 'Also report routine events on stderr: sinks opened and closed, and every retry of a network sink (its attempt, wait and reason)'
            cand --verbose 'Also report routine events on stderr: sinks opened and closed, and every retry of a network sink (its attempt, wait and reason)'
            cand --check-config 'Check the settings (flags, environment, config file) and exit'
            cand --print-config 'Print the settings in effect (config file, environment and flags merged) as a config file, secrets hidden, and exit'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
