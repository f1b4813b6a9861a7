import json
import os

from edge_auth import EdgeAuth, Identity
from fastapi import Depends, FastAPI, Security

edge = EdgeAuth(
    jwks_url=os.environ["EDGE_AUTH_JWKS_URL"],  # the Worker's /.well-known/edge-auth/jwks.json
    issuer=os.environ["EDGE_AUTH_ISSUER"],  # the Worker's assertion.issuer
    audience=os.environ["EDGE_AUTH_AUDIENCE"],  # its assertion.audience: this origin
    public_url=os.environ["EDGE_AUTH_PUBLIC_URL"],  # the URL callers use (the assertion's htu)
    jwks_options=json.loads(os.environ.get("EDGE_AUTH_JWKS_OPTIONS", "{}")),  # demo, tests: loopback
)
app = FastAPI()


@app.get("/orders/{order_id}")
async def read_order(order_id: int, who: Identity = Security(edge, scopes=["orders:read"])):
    return {"order": order_id, "sub": who.sub, "issuer": who.issuer, "scopes": who.scopes}


@app.post("/orders/{order_id}")
async def update_order(order_id: int, who: Identity = Security(edge, scopes=["orders:write"])):
    return {"order": order_id, "updated_by": who.sub}


@app.get("/admin/users", dependencies=[Depends(edge.require_roles("admin"))])
async def list_users():
    return {"users": ["demo-user"]}
