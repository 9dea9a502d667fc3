from tests.factories import WorkItemFactory, CustomerFactory

def test_probe(api, tenant, client):
    wi = WorkItemFactory(tenant=tenant)
    for url in ["/api/v1/workitems/abc/", "/api/v1/workitems/99999999999999999999/", "/api/v1/workitems/abc/notes/",
                "/api/v1/workitems/?technician=99999999999999999999", "/api/v1/workitems/?technician=1.5",
                "/api/v1/workitems/?customer=-1", "/api/v1/workitems/?updated_since=2024-01-01",
                "/api/v1/workitems/?technician=1e400", "/api/v1/workitems/?technician=NaN", "/api/v1/workitems/?technician=Infinity",
                "/api/v1/workitems/?ordering=bogus", "/api/v1/workitems/?page=abc", "/api/v1/workitems/?page_size=abc",
                "/api/v1/customers/abc/", "/api/v1/workitems/?id=1"]:
        r = api.get(url)
        print(url, r.status_code, r.content[:200])
    for body in [{"description": "x", "customer_id": 99999999999999999999}, {"description": "x", "customer_id": "abc"},
                 {"description": "x", "owner_id": 99999999999999999999}, {"description": "x", "estimated_price": "NaN"},
                 {"description": "x", "estimated_price": "1e30"}, {"description": "x", "due_date": "notadate"},
                 {"description": "x", "customer_id": 1.5}, {"description": "x", "customer_id": True},
                 {"description": "\x00"}, {"description": "x", "comments": "a\x00b"}, {"description": "x", "customer_id": [1]},
                 {"description": "x", "customer_id": {"a": 1}}]:
        r = api.post("/api/v1/workitems/", body, format="json")
        print(body, r.status_code, r.content[:300])
    r = api.post("/api/v1/customers/", {"name": "a\x00b"}, format="json"); print("nul", r.status_code, r.content[:200])
    r = api.post("/api/v1/workitems/", "[1,2]", content_type="application/json"); print("list", r.status_code, r.content[:200])
    r = api.post("/api/v1/workitems/", "\"str\"", content_type="application/json"); print("str", r.status_code, r.content[:200])
    r = api.post(f"/api/v1/workitems/{wi.id}/notes/", "[1]", content_type="application/json"); print("notes list", r.status_code, r.content[:200])
    r = api.get("/api/v1/workitems/", HTTP_X_TENANT="a\x00b"); print("hdr", r.status_code, r.content[:200])
    r = client.get("/api/schema/"); print("schema", r.status_code, r["Content-Type"], r.content[:100])
    r = client.get("/api/docs/"); print("docs", r.status_code)
    assert 0
