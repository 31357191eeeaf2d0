-- One database per Telco360 service: each service owns its store and its migrations, and no
-- service reads another's tables. Run once, on the server's first start, by the entrypoint of
-- the official postgres image (or of the local stand-in in docker/postgres), as POSTGRES_USER.
CREATE DATABASE ingest;
CREATE DATABASE profile;
CREATE DATABASE scoring;
CREATE DATABASE contact;
