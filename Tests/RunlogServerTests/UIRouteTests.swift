import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RunlogServer

/// The web UI through the server: its pages beside the REST API, artifacts streamed sandboxed,
/// a token asked of browsers at /login, and no change to the store from another site.
@Suite struct UIRouteTests {
    @Test func pagesAreServedBesideTheAPI() async throws {
        try await ServerHarness().test { client in
            let (experiment, run) = try await client.makeRun("ui")
            try await client.post(
                "runs/log-batch",
                ["run_id": run, "metrics": [["key": "loss", "value": 0.5, "timestamp": 1, "step": 0]]])
            let home = try await client.get("/")
            #expect(home.status == .ok)
            #expect(home.text.contains(">ui</a>"))
            // HEAD answers as GET does, with the length GET's body would have and no body.
            let head = try await client.inner.execute(uri: "/", method: .head) {
                ($0.status, $0.headers[.contentLength], $0.headers[.contentType], $0.body.readableBytes)
            }
            #expect(head.0 == .ok && head.1 == String(home.text.utf8.count) && head.3 == 0)
            #expect(head.2?.hasPrefix("text/html") == true)
            let table = try await client.get("/experiments/\(experiment)")
            #expect(table.text.contains(">r1</a>"))
            #expect(try await client.get("/runs/\(run)").text.contains(">loss</span>"))
            #expect(try await client.get("/compare?runs=\(run)").text.contains("Compare 1 runs"))
            let chart = try await client.inner.execute(uri: "/chart?runs=\(run)&metric=loss", method: .get) {
                ($0.status, $0.headers[.contentType], $0.headers[HTTPField.Name("Content-Security-Policy")!])
            }
            #expect(chart.0 == .ok && chart.1 == "image/svg+xml")
            #expect(chart.2?.contains("script-src 'self'") == true)
            try await client.put("\(experiment)/\(run)/artifacts/page.html", Array("<script>x()</script>".utf8))
            let artifact = try await client.inner.execute(uri: "/runs/\(run)/artifacts/page.html", method: .get) {
                (
                    $0.headers[.contentDisposition], $0.headers[HTTPField.Name("Content-Security-Policy")!],
                    String(buffer: $0.body)
                )
            }
            #expect(artifact.0?.hasPrefix("attachment") == true)
            #expect(artifact.1?.hasPrefix("sandbox") == true)
            #expect(artifact.2 == "<script>x()</script>")
            // The REST API is untouched: an unknown API path is still MLflow's 404.
            #expect(try await client.get("nothing/here").errorCode == "ENDPOINT_NOT_FOUND")
        }
    }

    @Test func anotherSiteCannotChangeTheStore() async throws {
        try await ServerHarness().test { client in
            let (experiment, run) = try await client.makeRun("ui")
            func post(_ headers: HTTPFields) async throws -> HTTPResponse.Status {
                var headers = headers
                headers[.contentType] = "application/x-www-form-urlencoded"
                return try await client.inner.execute(
                    uri: "/experiments/\(experiment)/delete-runs", method: .post, headers: headers,
                    body: ByteBuffer(string: "runs=\(run)")
                ) { $0.status }
            }
            #expect(try await post([HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]) == .forbidden)
            #expect(try await post([.origin: "http://evil.example"]) == .forbidden)
            #expect(try await client.get("runs/get?run_id=\(run)").json.description.contains("active"))
            #expect(try await post([HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]) == .seeOther)
            let info = try await client.get("runs/get?run_id=\(run)").json["run"] as? [String: Any]
            #expect((info?["info"] as? [String: Any])?["lifecycle_stage"] as? String == "deleted")
        }
    }

    @Test func aBrowserSignsInWithTheToken() async throws {
        try await ServerHarness(token: "s3cret").test { client in
            let page = try await client.inner.execute(uri: "/", method: .get) { ($0.status, $0.headers[.location]) }
            #expect(page.0 == .seeOther && page.1 == "/login")
            let form = try await client.get("/login")
            #expect(form.status == .ok && form.text.contains("type=\"password\""))
            #expect(try await client.get("/static/ui.css").status == .ok)
            func login(_ token: String) async throws -> (HTTPResponse.Status, String?) {
                try await client.inner.execute(
                    uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "token=\(token)")
                ) { ($0.status, $0.headers[.setCookie]) }
            }
            let wrong = try await login("s3cres")
            #expect(wrong.0 == .unauthorized && wrong.1 == nil)
            let right = try await login("s3cret")
            #expect(right.0 == .seeOther)
            let cookie = try #require(right.1)
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            #expect(cookie.hasPrefix("runlog_token=733363726574;"))  // "s3cret" in hex
            let signedIn = try await client.get("/", headers: [.cookie: "theme=dark; runlog_token=733363726574"])
            #expect(signedIn.status == .ok && signedIn.text.contains("Experiments"))
            let badCookie = try await client.inner.execute(
                uri: "/", method: .get, headers: [.cookie: "runlog_token=nope"]
            ) { $0.status }
            #expect(badCookie == .seeOther)
            // The API still wants the bearer header (or the cookie), and says so in MLflow's words.
            #expect(try await client.get("experiments/search").errorCode == "UNAUTHENTICATED")
        }
    }
}
