/// A camera's player: the stream with pause, play, skips, single frames, a speed, a way back to live, and a timeline
/// of what the camera has recorded, for `GET …/cameras/NAME/player`.
///
/// Plain HTML, CSS and JavaScript in one page, with no external resources. Every address in it is relative to the
/// page's folder (the camera's routes), so the page works wherever they are mounted. It uses:
///
/// | request | for |
/// | --- | --- |
/// | `POST playback` (`?start=TIME&rate=R` to resume) | a session: `{"id", "stream", "control", "events"}`, `201` |
/// | `GET stream?session=ID` | the session's picture, in the `<img>` |
/// | `GET playback/ID/events` | the session's state, as server-sent `state` events |
/// | `POST playback/ID?pause` (`play`, `live`, `seek=T`, `skip=S`, `rate=R`, `step=N`) | a command; answers the state |
/// | `GET recordings?start=T&end=T` | the recorded spans and the RAM time-shift, for the timeline |
/// | `GET stream` | the live stream alone, when `POST playback` is refused (no recording, not allowed) |
///
/// Keys: space pauses and plays, ← and → skip 10 s, `,` and `.` step a frame, `l` goes live. The status line
/// (`id="state"`) carries `data-live`, `data-paused`, `data-position` (Unix seconds) and `data-rate` for scripts
/// such as `Scripts/player-check.py`.
enum PlayerPage {
    /// The page, titled `title` (escaped here), for the camera called `camera`.
    static func html(title: String, camera: String) -> String {
        let camera = CameraPage.escaped(camera)
        return CameraPage.document(
            title: title,
            style: style,
            body: """
                <img id="picture" alt="\(camera), recorded and live">
                <div id="controls">
                <button id="back10" title="10 s back (←)">−10 s</button>
                <button id="stepBack" title="one frame back (,)">◀|</button>
                <button id="pause" title="pause (space)">pause</button>
                <button id="play" title="play (space)">play</button>
                <button id="stepForward" title="one frame forward (.)">|▶</button>
                <button id="forward10" title="10 s forward (→)">+10 s</button>
                <select id="rate" title="speed">
                <option value="-4">−4×</option><option value="-1">−1×</option>
                <option value="0.125">1/8×</option><option value="0.25">1/4×</option><option value="0.5">1/2×</option>
                <option value="1" selected>1×</option><option value="2">2×</option><option value="4">4×</option>
                <option value="8">8×</option><option value="16">16×</option><option value="64">64×</option>
                </select>
                <button id="live" title="back to live (l)">live</button>
                </div>
                <p id="state" data-live="true" data-paused="false" data-position="" data-rate="1">connecting…</p>
                <div id="timelineBox">
                <div id="timeline" title="click to play from there"></div>
                <div id="axis"><span id="axisStart"></span><span id="axisMiddle"></span><span>now</span></div>
                <p id="zoom">
                <button data-seconds="600">10 min</button> <button data-seconds="3600">1 h</button>
                <button data-seconds="21600">6 h</button> <button data-seconds="86400">24 h</button>
                </p>
                </div>
                <p id="message"></p>
                <script>
                \(script)
                </script>
                """
        )
    }

    static let style = """
        body { margin: 0; background: #111; color: #eee; font-family: system-ui, sans-serif; text-align: center; }
        h1 { font-size: 1.2rem; font-weight: 500; margin: 0.8rem; }
        img { max-width: 100vw; max-height: calc(100vh - 12rem); background: #000; }
        button, select { font: inherit; margin: 0.1rem; }
        button[aria-pressed="true"] { background: #9cf; }
        #state { font-variant-numeric: tabular-nums; margin: 0.4rem; }
        #timelineBox { margin: 0 auto; width: min(60rem, 95vw); }
        #timeline { position: relative; height: 1.6rem; background: #333; cursor: pointer; overflow: hidden; }
        #timeline div { position: absolute; top: 0; bottom: 0; pointer-events: none; }
        #timeline .recorded { background: #4a8; }
        #timeline .timeshift { background: #c93; top: 25%; bottom: 25%; }
        #timeline .marker { width: 2px; background: #f44; }
        #axis { display: flex; justify-content: space-between; font-size: 0.8rem; color: #aaa; }
        #zoom { margin: 0.3rem; }
        #message { color: #fc6; min-height: 1.2em; }
        """

    /// The player's JavaScript: a session on the server (`POST playback`), its picture in the `<img>`, its state
    /// from server-sent events, one `POST` per command, and the timeline from `recordings`, refreshed every 5 s.
    static let script = #"""
        "use strict";
        const picture = document.getElementById("picture");
        const stateLine = document.getElementById("state");
        const message = document.getElementById("message");
        const timeline = document.getElementById("timeline");
        const rateSelect = document.getElementById("rate");
        let session = null;      // {id, stream, control, events} from POST playback
        let events = null;       // the session's EventSource
        let state = null;        // the newest state, with receivedAt (ms, performance.now())
        let liveOnly = false;    // POST playback was refused: the live stream without controls
        let retryTimer = null;
        let windowSeconds = 3600;
        let recordings = null;   // the newest answer of GET recordings
        let clockOffset = 0;     // the server's clock minus ours, seconds, from recordings.now

        // RFC 3339 to Unix seconds, keeping microseconds (Date.parse keeps milliseconds at best).
        function parseTime(text) {
          const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)$/i.exec(text);
          if (!match) return Date.parse(text) / 1000;
          return Date.parse(match[1] + match[3]) / 1000 + (match[2] ? parseFloat("0" + match[2]) : 0);
        }
        function serverNow() { return Date.now() / 1000 + clockOffset; }
        function two(n) { return String(n).padStart(2, "0"); }
        function localTime(seconds, withDate) {
          const date = new Date(seconds * 1000);
          const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
          const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
          return withDate ? `${day} ${time}.${String(date.getMilliseconds()).padStart(3, "0")}` : time;
        }

        // Where the picture is now: the newest state, moved on by the time since it came while it plays.
        function current() {
          if (!state) return null;
          const elapsed = (performance.now() - state.receivedAt) / 1000;
          if (state.live) return {position: serverNow() - state.behindLive, behind: 0};
          if (state.paused || state.ended) return {position: state.positionUnix, behind: state.behindLive + elapsed};
          return {
            position: state.positionUnix + state.rate * elapsed,
            behind: Math.max(0, state.behindLive + (1 - state.rate) * elapsed),
          };
        }

        function render() {
          const now = current();
          if (now && !liveOnly) {
            const where = state.live ? "LIVE" : `−${now.behind.toFixed(1)} s behind live`;
            const how = state.ended ? "ended" : (state.paused ? "paused" : "playing");
            stateLine.textContent = `${localTime(now.position, true)} · ${where} · ${how} · ${rateLabel(state.rate)}`;
            stateLine.dataset.live = String(state.live);
            stateLine.dataset.paused = String(state.paused);
            stateLine.dataset.position = now.position.toFixed(3);
            stateLine.dataset.rate = String(state.rate);
          }
          drawTimeline(now);
        }

        function rateLabel(rate) {
          const option = Array.from(rateSelect.options).find((o) => Number(o.value) === rate);
          return option ? option.textContent : `${rate}×`;
        }

        function show(newState) {
          state = Object.assign({}, newState, {receivedAt: performance.now()});
          if (typeof state.positionUnix !== "number") state.positionUnix = parseTime(state.position);
          const option = Array.from(rateSelect.options).find((o) => Number(o.value) === state.rate);
          if (option && document.activeElement !== rateSelect) rateSelect.value = option.value;
          render();
        }

        function closeSession() {
          if (events) events.close();
          events = null;
          session = null;
        }

        // A new session: live, or from `query` (start=…&rate=…); `paused` pauses it at once.
        async function start(query, paused) {
          closeSession();
          let answer;
          try {
            answer = await fetch("playback" + (query ? "?" + query : ""), {method: "POST"});
          } catch (error) {
            message.textContent = "The server does not answer; trying again…";
            return retry();
          }
          if (!answer.ok) return showLiveOnly(answer.status);
          session = await answer.json();
          liveOnly = false;
          document.getElementById("controls").hidden = false;
          document.getElementById("timelineBox").hidden = false;
          message.textContent = "";
          picture.src = session.stream;
          const source = new EventSource(session.events);
          events = source;
          source.addEventListener("state", (event) => { if (events === source) show(JSON.parse(event.data)); });
          source.onerror = () => {
            // EventSource reconnects by itself; it gives up (CLOSED) when the session is gone, as after a restart.
            if (events === source && source.readyState === EventSource.CLOSED) retry();
          };
          if (paused) command("pause");
          refreshRecordings();
        }

        // The session's state as a query for a new session that carries on from there.
        function resumeQuery() {
          const now = current();
          if (!now || state.live) return "";
          return `start=${now.position.toFixed(6)}&rate=${state.rate}`;
        }

        function restart() {
          start(resumeQuery(), Boolean(state && state.paused && !state.live));
        }

        function retry() {
          if (retryTimer) return;
          retryTimer = setTimeout(() => { retryTimer = null; restart(); }, 1500);
        }

        function showLiveOnly(status) {
          liveOnly = true;
          document.getElementById("controls").hidden = true;
          document.getElementById("timelineBox").hidden = true;
          const why = status === 404 ? "this camera has no recording"
            : (status === 401 || status === 403) ? "playback is not allowed" : `playback failed (${status})`;
          message.textContent = `Live only: ${why}.`;
          stateLine.textContent = "LIVE";
          stateLine.dataset.live = "true";
          picture.src = "stream";
        }

        // One command to the session (`pause`, `seek=…`): its answer is the new state; 404 means the session has
        // gone, so the command goes to a new one that carries on from here.
        async function command(text, again) {
          if (!session) return;
          let answer;
          try {
            answer = await fetch(`${session.control}?${text}`, {method: "POST"});
          } catch (error) {
            message.textContent = "The server does not answer.";
            return;
          }
          if (answer.status === 404 && !again) {
            await start(resumeQuery(), false);
            return command(text, true);
          }
          if (!answer.ok) {
            message.textContent = `${text}: ${(await answer.text()).trim() || answer.status}`;
            return;
          }
          message.textContent = "";
          show(await answer.json());
        }

        async function refreshRecordings() {
          if (liveOnly) return;
          const end = serverNow() + 5;
          const query = `start=${(end - 5 - windowSeconds).toFixed(3)}&end=${end.toFixed(3)}`;
          try {
            const answer = await fetch(`recordings?${query}`);
            if (!answer.ok) return;
            recordings = await answer.json();
            if (recordings.now) clockOffset = parseTime(recordings.now) - Date.now() / 1000;
          } catch (error) {
            return;
          }
          render();
        }

        function bar(kind, from, to, windowStart) {
          const left = Math.max(0, (from - windowStart) / windowSeconds);
          const right = Math.min(1, (to - windowStart) / windowSeconds);
          if (right <= left) return "";
          const width = Math.max(0.1, (right - left) * 100);
          return `<div class="${kind}" style="left: ${(left * 100).toFixed(3)}%; width: ${width.toFixed(3)}%"></div>`;
        }

        // The recorded spans over the window, the RAM time-shift on top, and a marker at the position.
        function drawTimeline(now) {
          const end = serverNow();
          const windowStart = end - windowSeconds;
          let html = "";
          if (recordings) {
            for (const span of recordings.spans || []) {
              html += bar("recorded", parseTime(span.start), parseTime(span.end), windowStart);
            }
            if (recordings.timeshift) {
              const shift = recordings.timeshift;
              html += bar("timeshift", parseTime(shift.start), parseTime(shift.end), windowStart);
            }
          }
          const at = now ? (now.position - windowStart) / windowSeconds : -1;
          if (at >= 0 && at <= 1.001) {
            html += `<div class="marker" style="left: calc(${(Math.min(1, at) * 100).toFixed(3)}% - 2px)"></div>`;
          }
          timeline.innerHTML = html;
          document.getElementById("axisStart").textContent = localTime(windowStart, false);
          document.getElementById("axisMiddle").textContent = localTime(windowStart + windowSeconds / 2, false);
        }

        timeline.addEventListener("click", (event) => {
          const box = timeline.getBoundingClientRect();
          const time = serverNow() - windowSeconds + (event.clientX - box.left) / box.width * windowSeconds;
          if (serverNow() - time < 1) command("live"); else command(`seek=${time.toFixed(3)}`);
        });

        function setWindow(seconds) {
          windowSeconds = seconds;
          for (const button of document.querySelectorAll("#zoom button")) {
            button.setAttribute("aria-pressed", String(Number(button.dataset.seconds) === seconds));
          }
          refreshRecordings();
        }
        for (const button of document.querySelectorAll("#zoom button")) {
          button.addEventListener("click", (event) => {
            if (event.detail > 0) button.blur();
            setWindow(Number(button.dataset.seconds));
          });
        }

        const buttons = {
          pause: "pause", play: "play", back10: "skip=-10", forward10: "skip=10",
          stepBack: "step=-1", stepForward: "step=1", live: "live",
        };
        for (const [id, text] of Object.entries(buttons)) {
          document.getElementById(id).addEventListener("click", (event) => {
            if (event.detail > 0) event.currentTarget.blur();  // clicked: let space pause and play again
            command(text);
          });
        }
        rateSelect.addEventListener("change", () => command(`rate=${rateSelect.value}`));

        document.addEventListener("keydown", (event) => {
          if (event.altKey || event.ctrlKey || event.metaKey || liveOnly) return;
          if (event.target === rateSelect || (event.key === " " && event.target.tagName === "BUTTON")) return;
          const keys = {"ArrowLeft": "skip=-10", "ArrowRight": "skip=10", ",": "step=-1", ".": "step=1", "l": "live"};
          let text = keys[event.key];
          if (event.key === " ") text = state && state.paused ? "play" : "pause";
          if (!text) return;
          event.preventDefault();
          command(text);
        });

        // A broken picture (the server restarted, the session ended): a new session, from where this one was.
        picture.addEventListener("error", () => retry());

        setWindow(3600);
        start("", false);
        setInterval(render, 200);
        setInterval(refreshRecordings, 5000);
        """#
}
