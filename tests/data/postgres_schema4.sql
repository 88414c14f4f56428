-- A PostgreSQL audit log at schema version 4 (one hash chain), written by CapFence before partitioned chains
-- (20 shell decisions with outcomes, one approval approved and consumed, one pending; unkeyed), dumped with
-- pg_dump --inserts --no-owner --no-privileges (psql's \restrict lines removed). tests/test_postgres_partitions.py
-- restores it and opens it with today's store. postgres_schema4.ckpt is a checkpoint taken of it then.
--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: approvals; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.approvals (
    id text NOT NULL,
    created text NOT NULL COLLATE pg_catalog."C",
    expires text NOT NULL COLLATE pg_catalog."C",
    agent_id text,
    framework text,
    tool text,
    capability text NOT NULL,
    payload text NOT NULL,
    digest text NOT NULL,
    policy_digest text,
    rule text,
    status text NOT NULL,
    decided_by text,
    decided_at text,
    comment text,
    consumed_at text,
    decision_seq bigint
);


--
-- Name: flush_ticks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flush_ticks (
    pid integer NOT NULL,
    ticks bigint NOT NULL
);


--
-- Name: meta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.meta (
    key text NOT NULL,
    value text NOT NULL
);


--
-- Name: policies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.policies (
    digest text NOT NULL,
    path text,
    body text NOT NULL
);


--
-- Name: records; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.records (
    seq bigint NOT NULL,
    ts text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL COLLATE pg_catalog."C",
    agent_id text COLLATE pg_catalog."C",
    framework text,
    tool text COLLATE pg_catalog."C",
    capability text COLLATE pg_catalog."C",
    environment text,
    payload text,
    payload_sha256 text,
    payload_bytes bigint,
    truncated integer DEFAULT 0 NOT NULL,
    redacted integer DEFAULT 0 NOT NULL,
    decision text COLLATE pg_catalog."C",
    rule text,
    reason text,
    policy_digest text,
    ref bigint,
    outcome text,
    detail text,
    prev_hash text NOT NULL,
    hash text NOT NULL
);


--
-- Name: schema_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_version (
    version integer NOT NULL
);


--
-- Name: usage; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.usage (
    key text NOT NULL,
    ts text NOT NULL,
    amount double precision NOT NULL,
    seq bigint NOT NULL
);


--
-- Data for Name: approvals; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.approvals VALUES ('apr_b53a66e9d7813b85', '2026-12-07T11:14:02.782424+00:00', '2026-12-07T12:14:02.782392+00:00', 'billing', 'python', '<lambda>', 'payments.refund', '{"amount":3}', 'fc5cc5baa41f1ded0d0c3160162e2f329e3eaf0e1e86b78fb296bb0360915add', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 'refunds', 'consumed', 'alice', '2026-12-07T11:14:02.790869+00:00', NULL, '2026-12-07T11:14:02.796041+00:00', 41);
INSERT INTO public.approvals VALUES ('apr_2543af32a44127ca', '2026-12-07T11:14:02.811728+00:00', '2026-12-07T12:14:02.811702+00:00', 'billing', 'python', '<lambda>', 'payments.refund', '{"amount":4}', 'aea7e6ac35f22d352bc87a3cf0fc918f3e9e351ffa8e1e6d640bf50e4cd2dfd4', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 'refunds', 'pending', NULL, NULL, NULL, NULL, 48);


--
-- Data for Name: flush_ticks; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.flush_ticks VALUES (29246, 24);
INSERT INTO public.flush_ticks VALUES (29245, 24);


--
-- Data for Name: meta; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.meta VALUES ('chain', 'sha256');


--
-- Data for Name: policies; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.policies VALUES ('0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', '/tmp/v4policy.yaml', '[{"allow":[{"capability":"*"}],"require_approval":[{"capability":"payments.refund","id":"refunds"}],"warn":[{"capability":"shell.*","id":"observe-shell"}]}]');


--
-- Data for Name: records; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.records VALUES (1, '2026-12-07T11:14:02.558089+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-0"}', '46b31d3d5e59c7ae2011cea6cbff79658e2d2b2b70c0c6259453b183a8360d83', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '0000000000000000000000000000000000000000000000000000000000000000', '93cce1be8311dd3f12a2a3a67609a3e8a7faccb39b92a209ad6ea659a3b96ddd');
INSERT INTO public.records VALUES (2, '2026-12-07T11:14:02.562597+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 1, 'ran', NULL, '93cce1be8311dd3f12a2a3a67609a3e8a7faccb39b92a209ad6ea659a3b96ddd', '4119702b600f68f556538911dbeb73e6a80fc7074e0ff2d9234d812e3f793644');
INSERT INTO public.records VALUES (3, '2026-12-07T11:14:02.566454+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-1"}', 'd3285812b22100103cfc7b7f4263d53cac4afbe248ad399cd774a5b2c5aa7e24', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '4119702b600f68f556538911dbeb73e6a80fc7074e0ff2d9234d812e3f793644', '96b36577a23097c016149370fad7e49f7db6ce939d742cb69e409046b0549bc1');
INSERT INTO public.records VALUES (4, '2026-12-07T11:14:02.574316+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 3, 'ran', NULL, '96b36577a23097c016149370fad7e49f7db6ce939d742cb69e409046b0549bc1', '0cc15def3604556b1f0ffc22a2c044f344860f0bdf980193d3ee2febc7e2edf0');
INSERT INTO public.records VALUES (5, '2026-12-07T11:14:02.578599+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-2"}', '864a2fdab9e737f4b213239be694844ce8f5c448019f4e99a6a4881c4d62c65c', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '0cc15def3604556b1f0ffc22a2c044f344860f0bdf980193d3ee2febc7e2edf0', 'cea0d64462aca3df6e2c2f28a857861e40991ca0104772fdc7478992c9afcc9c');
INSERT INTO public.records VALUES (6, '2026-12-07T11:14:02.586215+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 5, 'ran', NULL, 'cea0d64462aca3df6e2c2f28a857861e40991ca0104772fdc7478992c9afcc9c', '84a234ab81637c9b538e276f9076c1fb89e591fd6cb3aaae8d0fb51eb447f6a1');
INSERT INTO public.records VALUES (7, '2026-12-07T11:14:02.590410+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-3"}', 'bb4d93948af2dc1b352f52682697818550c5ef7de91a87eb75497b724950404c', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '84a234ab81637c9b538e276f9076c1fb89e591fd6cb3aaae8d0fb51eb447f6a1', 'bf1c35942cfb8e943e76e46af42ccdb243eead3ee7db35e48837dcc364a21d4f');
INSERT INTO public.records VALUES (8, '2026-12-07T11:14:02.591449+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 7, 'ran', NULL, 'bf1c35942cfb8e943e76e46af42ccdb243eead3ee7db35e48837dcc364a21d4f', 'd4af031e9a3a46d624554790ba3e8821f82d32d3ba0f7267ea676f7726780733');
INSERT INTO public.records VALUES (9, '2026-12-07T11:14:02.595385+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-4"}', '56d27295f5cc6392b4913c16d6efd232f090845a07dfc07ca0fc997583ad8e6c', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'd4af031e9a3a46d624554790ba3e8821f82d32d3ba0f7267ea676f7726780733', '4393119aed49836bf61dac0528ecd7b7d1c62052215ea40bed42d61c8f038480');
INSERT INTO public.records VALUES (10, '2026-12-07T11:14:02.596837+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 9, 'ran', NULL, '4393119aed49836bf61dac0528ecd7b7d1c62052215ea40bed42d61c8f038480', 'ad5ad32d844173d66e891d7c8486790807a74f36a96a63a70099fc24a8cdae6b');
INSERT INTO public.records VALUES (11, '2026-12-07T11:14:02.610451+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-5"}', '25dd67c0787a2fec080cbd5ccda89e81fba38385d3128e0ca5377e4ecff5da50', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'ad5ad32d844173d66e891d7c8486790807a74f36a96a63a70099fc24a8cdae6b', '42d6a1484eacbf2b5e912725e9a2e7914f79d997b45ee1e4f6ad0162d21a7d9e');
INSERT INTO public.records VALUES (12, '2026-12-07T11:14:02.614384+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 11, 'ran', NULL, '42d6a1484eacbf2b5e912725e9a2e7914f79d997b45ee1e4f6ad0162d21a7d9e', '2a6ebb38e2ba1c74ca15bc50019ee589811dbba03376f8e2c8c0a1a5e02bd5ae');
INSERT INTO public.records VALUES (13, '2026-12-07T11:14:02.618369+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-6"}', '49801650b166f892f339a2912f99a9d03c2c419c2e8e20111ac04dfae2901b10', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '2a6ebb38e2ba1c74ca15bc50019ee589811dbba03376f8e2c8c0a1a5e02bd5ae', 'd8ed18ddc3b39ef68f30baa88cb55039bffd757114ef6816cd062ad11c99c964');
INSERT INTO public.records VALUES (14, '2026-12-07T11:14:02.626535+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 13, 'ran', NULL, 'd8ed18ddc3b39ef68f30baa88cb55039bffd757114ef6816cd062ad11c99c964', '7fa173ad21c3bf049aecc73318f43043b1c4f81b9093a4ae8dcb6c06408b7ce0');
INSERT INTO public.records VALUES (15, '2026-12-07T11:14:02.633701+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-7"}', 'f671623adc46fe6f60b937d836d36b0bbc74ca4cede80f3aee990f0395b45082', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '7fa173ad21c3bf049aecc73318f43043b1c4f81b9093a4ae8dcb6c06408b7ce0', 'ec2643071681857ad61b525226911694b6dd4445e73fd49800519ac8b23f0a16');
INSERT INTO public.records VALUES (16, '2026-12-07T11:14:02.642020+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 15, 'ran', NULL, 'ec2643071681857ad61b525226911694b6dd4445e73fd49800519ac8b23f0a16', 'feb04cab86b174abe288e9c1ed79805523f422f359b4f04d5ea70359a986e57c');
INSERT INTO public.records VALUES (17, '2026-12-07T11:14:02.646576+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-8"}', 'b477a06edf99a27e9c63afab2199842deabd14ab65b2eecdfcd0342b1ce4125c', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'feb04cab86b174abe288e9c1ed79805523f422f359b4f04d5ea70359a986e57c', '90e25b4000aa5d0be2987ee81821647adb5a37d76b3386966a3b4791d1dbaf70');
INSERT INTO public.records VALUES (18, '2026-12-07T11:14:02.654016+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 17, 'ran', NULL, '90e25b4000aa5d0be2987ee81821647adb5a37d76b3386966a3b4791d1dbaf70', '92cf746a808e9b3c9667486920221af591a5d2eedfa818d8d618d33ac7491bcf');
INSERT INTO public.records VALUES (19, '2026-12-07T11:14:02.662241+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-9"}', '062d1f9694bd3e1d619a4f8339946560eeb815a6ba88dfb941362bbaa146cbb0', 23, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '92cf746a808e9b3c9667486920221af591a5d2eedfa818d8d618d33ac7491bcf', '290d8e9ce219a98b9f96e4419421e66dd05e1640c8f8ac86ba4df4fca667bd6d');
INSERT INTO public.records VALUES (21, '2026-12-07T11:14:02.675121+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-10"}', '1b2578fcd2dcd45b1f7b710c5e634c43a2aaf1bf872298408fddae089867f624', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'c0aa314a67a4a7b81bb79801e9a11a29b210decbad4e9513a44da055ea075a50', '1f53fc666b746ad4dfe0031356a5fa1e42722f7ff430c802bd823be5caba4a58');
INSERT INTO public.records VALUES (23, '2026-12-07T11:14:02.687388+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-11"}', 'cb116ec52299d5beea1de4eb911df6db414bc963ac9ae48eb25c8697ed3a44d5', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'd3661243bc86680ca59ccce0cdb2f522624971e31ebd38275ec68576caafb06e', 'd63c1ac82433a5c35475b154b1032d100d25384290a2501655a9312f75ef4091');
INSERT INTO public.records VALUES (25, '2026-12-07T11:14:02.706728+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-12"}', 'def1286074a1e422796e248f98f28d03bef6132add87b57e91f2bf1ae2cdf93d', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '56ff1d3c572c841b4727c4fb5fee235c7bb7554cf9233877bd223ef1a653b7cd', '58057f859f0dfe8ae5669a021ca62c379b2e14801074f41947da36a9bd0e081f');
INSERT INTO public.records VALUES (27, '2026-12-07T11:14:02.718481+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-13"}', 'e535b998bbb9b4650c0c5efc26a06b85851b7b027f4b636feb83ca16d5be568d', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '48962ba90444f23032c4163202b60570f3c3bec4abdcdc3d976d84bf0f029ec3', '91a21360f0d4cf95d3c9e374214cab15a2909eea3c13851534c668ad43a61e48');
INSERT INTO public.records VALUES (29, '2026-12-07T11:14:02.726417+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-14"}', '5d28d77a656f0c1312b8324251da5322ecb097d8edc3f3614092e87072e52344', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '7946368cee60e27a53abf28bd92d7fdd615cc06ab66384c8cc181295ab3155a1', '05f92130002949d5ec1308ad20cfec2d78711899a2c2eb41519f6852e326e533');
INSERT INTO public.records VALUES (31, '2026-12-07T11:14:02.738508+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-15"}', '5f4a265623c1ad6cc6d99cfbbc8feaa4ca87bae7e21615e5ca8b96e081cbb90c', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'b78fc94b7efa95296165313256614823eb67908bf9196efcd644609090b7276a', 'c2e6adb58263f56d845ee8bc6b7e853d5aea6385301f70c4f2912056001620fe');
INSERT INTO public.records VALUES (33, '2026-12-07T11:14:02.746438+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-16"}', '325d6b7eff1f450c2e686053eaf2137919c9a1a9406d67e8fa2b7910d50d9c03', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'a3cea9d0ef0f2327e83f9aa0704d250a27e8cefe86940b72b817fccb5f14e631', 'efddd6ec29b5c2f6a5cf490d7651e5fb306d484a6047a5ba7d52d4e2feecd2ae');
INSERT INTO public.records VALUES (35, '2026-12-07T11:14:02.754495+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-17"}', '5cf843286eab4b5faee92bdfb6613352dbcad0603d5471e9bd07dcc60468a643', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'dcddca7da1b0d2dab1443eeef3ffd2aeae23eff2191bee31defa9dec1fbaab48', '57a2f6620339ecf960b2a8e0ebfb8ae3ba04a34f734fa19d4d30a14cd7400b8d');
INSERT INTO public.records VALUES (37, '2026-12-07T11:14:02.760353+00:00', 'decision', 'agent-0', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-18"}', '9eb67e2292a3b7313c5669d7d360558a5242c19833faff13c55091fc54bdc8b8', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', '27a63fe26d7c390343aff75e592512c36bfa8ca5b4550dd3f29a1bc4e3372215', '67559077e73c4520e5a6ecefd957899fe744d79ccf046b634138b136f0c1ee9e');
INSERT INTO public.records VALUES (39, '2026-12-07T11:14:02.766378+00:00', 'decision', 'agent-1', NULL, 'run_shell', 'shell.execute', NULL, '{"command":"echo v4-19"}', '9213aa8da06448b57d05150f74a55a6224c810974c9a7fd4d55df4ea8c2c795d', 24, 0, 0, 'warn', 'observe-shell', 'warn rule: capability "shell.*"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"decided_by": "rule", "rule_line": 6, "rule_source": "/tmp/v4policy.yaml"}', 'e5b640cbc670cff18c23dc41544e8af6f0d2af28e079e667df69dba93a6338be', 'af73dc50bd5522c34a8af3d698878ff33eea376c37b42f484b6f9af3abd23e51');
INSERT INTO public.records VALUES (41, '2026-12-07T11:14:02.782149+00:00', 'decision', 'billing', 'python', '<lambda>', 'payments.refund', NULL, '{"amount":3}', '6d47010e407ddba47d8460e9c3984e515309fd15eaf15d2505e76cbd213df915', 12, 0, 0, 'require_approval', 'refunds', 'require_approval rule: capability "payments.refund"; waiting for approval', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"approval_id": "apr_b53a66e9d7813b85", "decided_by": "rule", "rule_line": 3, "rule_source": "/tmp/v4policy.yaml"}', '996b05e5e0a0b5efd29a0a199f82a3ccfb8ae48847bee0176d0e0e6dc991ed55', '1bbe7de3683039e74840d22dd63658471f84caa077bec5bd739f387809223ed6');
INSERT INTO public.records VALUES (42, '2026-12-07T11:14:02.782930+00:00', 'approval', 'billing', NULL, '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, NULL, 'refunds', 'approval request apr_b53a66e9d7813b85 created', NULL, 41, NULL, '{"id": "apr_b53a66e9d7813b85", "from": null, "status": "pending", "decided_by": null, "digest": "fc5cc5baa41f1ded0d0c3160162e2f329e3eaf0e1e86b78fb296bb0360915add", "expires": "2026-12-07T12:14:02.782392+00:00", "shown": "8d00f8e4ea7c2ee91e1111b9638f48406897148282cf9f703d29c2d5b418495d"}', '1bbe7de3683039e74840d22dd63658471f84caa077bec5bd739f387809223ed6', '8e1a9c06206d85e14971a574c3129ba89bae594166caf2124158f9ce9cba303c');
INSERT INTO public.records VALUES (44, '2026-12-07T11:14:02.791710+00:00', 'approval', 'billing', NULL, '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, NULL, 'refunds', 'approval request apr_b53a66e9d7813b85 approved', NULL, 41, NULL, '{"id": "apr_b53a66e9d7813b85", "from": "pending", "status": "approved", "decided_by": "alice", "decided_at": "2026-12-07T11:14:02.790869+00:00", "digest": "fc5cc5baa41f1ded0d0c3160162e2f329e3eaf0e1e86b78fb296bb0360915add", "expires": "2026-12-07T12:14:02.782392+00:00", "shown": "8d00f8e4ea7c2ee91e1111b9638f48406897148282cf9f703d29c2d5b418495d"}', '6294255148b96adc68cbf05ad2cf307e57820f7f68c8d8099ea3fe35efed650b', '0b0243e8a87f50641be581a3f85427f650a71a49e207343924d2778349ca3686');
INSERT INTO public.records VALUES (20, '2026-12-07T11:14:02.670840+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 19, 'ran', NULL, '290d8e9ce219a98b9f96e4419421e66dd05e1640c8f8ac86ba4df4fca667bd6d', 'c0aa314a67a4a7b81bb79801e9a11a29b210decbad4e9513a44da055ea075a50');
INSERT INTO public.records VALUES (22, '2026-12-07T11:14:02.682377+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 21, 'ran', NULL, '1f53fc666b746ad4dfe0031356a5fa1e42722f7ff430c802bd823be5caba4a58', 'd3661243bc86680ca59ccce0cdb2f522624971e31ebd38275ec68576caafb06e');
INSERT INTO public.records VALUES (24, '2026-12-07T11:14:02.697768+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 23, 'ran', NULL, 'd63c1ac82433a5c35475b154b1032d100d25384290a2501655a9312f75ef4091', '56ff1d3c572c841b4727c4fb5fee235c7bb7554cf9233877bd223ef1a653b7cd');
INSERT INTO public.records VALUES (26, '2026-12-07T11:14:02.714593+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 25, 'ran', NULL, '58057f859f0dfe8ae5669a021ca62c379b2e14801074f41947da36a9bd0e081f', '48962ba90444f23032c4163202b60570f3c3bec4abdcdc3d976d84bf0f029ec3');
INSERT INTO public.records VALUES (28, '2026-12-07T11:14:02.722392+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 27, 'ran', NULL, '91a21360f0d4cf95d3c9e374214cab15a2909eea3c13851534c668ad43a61e48', '7946368cee60e27a53abf28bd92d7fdd615cc06ab66384c8cc181295ab3155a1');
INSERT INTO public.records VALUES (30, '2026-12-07T11:14:02.730421+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 29, 'ran', NULL, '05f92130002949d5ec1308ad20cfec2d78711899a2c2eb41519f6852e326e533', 'b78fc94b7efa95296165313256614823eb67908bf9196efcd644609090b7276a');
INSERT INTO public.records VALUES (32, '2026-12-07T11:14:02.742399+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 31, 'ran', NULL, 'c2e6adb58263f56d845ee8bc6b7e853d5aea6385301f70c4f2912056001620fe', 'a3cea9d0ef0f2327e83f9aa0704d250a27e8cefe86940b72b817fccb5f14e631');
INSERT INTO public.records VALUES (34, '2026-12-07T11:14:02.750444+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 33, 'ran', NULL, 'efddd6ec29b5c2f6a5cf490d7651e5fb306d484a6047a5ba7d52d4e2feecd2ae', 'dcddca7da1b0d2dab1443eeef3ffd2aeae23eff2191bee31defa9dec1fbaab48');
INSERT INTO public.records VALUES (36, '2026-12-07T11:14:02.758394+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 35, 'ran', NULL, '57a2f6620339ecf960b2a8e0ebfb8ae3ba04a34f734fa19d4d30a14cd7400b8d', '27a63fe26d7c390343aff75e592512c36bfa8ca5b4550dd3f29a1bc4e3372215');
INSERT INTO public.records VALUES (38, '2026-12-07T11:14:02.762286+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 37, 'ran', NULL, '67559077e73c4520e5a6ecefd957899fe744d79ccf046b634138b136f0c1ee9e', 'e5b640cbc670cff18c23dc41544e8af6f0d2af28e079e667df69dba93a6338be');
INSERT INTO public.records VALUES (40, '2026-12-07T11:14:02.770322+00:00', 'outcome', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 'warn', 'observe-shell', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 39, 'ran', NULL, 'af73dc50bd5522c34a8af3d698878ff33eea376c37b42f484b6f9af3abd23e51', '996b05e5e0a0b5efd29a0a199f82a3ccfb8ae48847bee0176d0e0e6dc991ed55');
INSERT INTO public.records VALUES (43, '2026-12-07T11:14:02.786412+00:00', 'outcome', 'billing', 'python', '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, 'require_approval', 'refunds', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 41, 'held', NULL, '8e1a9c06206d85e14971a574c3129ba89bae594166caf2124158f9ce9cba303c', '6294255148b96adc68cbf05ad2cf307e57820f7f68c8d8099ea3fe35efed650b');
INSERT INTO public.records VALUES (45, '2026-12-07T11:14:02.795797+00:00', 'decision', 'billing', 'python', '<lambda>', 'payments.refund', NULL, '{"amount":3}', '6d47010e407ddba47d8460e9c3984e515309fd15eaf15d2505e76cbd213df915', 12, 0, 0, 'allow', 'refunds', 'approved by alice (approval request apr_b53a66e9d7813b85); require_approval rule: capability "payments.refund"', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"approval_id": "apr_b53a66e9d7813b85", "approver": "alice", "decided_by": "approval", "rule_line": 3, "rule_source": "/tmp/v4policy.yaml"}', '0b0243e8a87f50641be581a3f85427f650a71a49e207343924d2778349ca3686', 'e2cf7565cc10c18d67053c5c33d16f12f1049d5bdc17b5a70c7171ababc404fa');
INSERT INTO public.records VALUES (46, '2026-12-07T11:14:02.796365+00:00', 'approval', 'billing', NULL, '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, NULL, 'refunds', 'approval request apr_b53a66e9d7813b85 consumed', NULL, 41, NULL, '{"id": "apr_b53a66e9d7813b85", "from": "approved", "status": "consumed", "decided_by": "alice", "consumed_at": "2026-12-07T11:14:02.796041+00:00", "digest": "fc5cc5baa41f1ded0d0c3160162e2f329e3eaf0e1e86b78fb296bb0360915add", "expires": "2026-12-07T12:14:02.782392+00:00", "shown": "8d00f8e4ea7c2ee91e1111b9638f48406897148282cf9f703d29c2d5b418495d"}', 'e2cf7565cc10c18d67053c5c33d16f12f1049d5bdc17b5a70c7171ababc404fa', '4399aa78aca8ee2255b80ea9cc55ad7cf6205baaf587fe8a9bc3abc4874ea9bb');
INSERT INTO public.records VALUES (48, '2026-12-07T11:14:02.811475+00:00', 'decision', 'billing', 'python', '<lambda>', 'payments.refund', NULL, '{"amount":4}', '3f5e2fc00aa466f0983fe194e1a11594358bc888f4609c7ac82e3409c7cb750b', 12, 0, 0, 'require_approval', 'refunds', 'require_approval rule: capability "payments.refund"; waiting for approval', '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', NULL, NULL, '{"approval_id": "apr_2543af32a44127ca", "decided_by": "rule", "rule_line": 3, "rule_source": "/tmp/v4policy.yaml"}', '3d6076cf204df7e06a8c0a5f38a14c2181561b2d5f7e37d3f00bc544b8ea9229', '5917dfbb05fd9525d81443a32926abdcf2e7c04e6ebe4c07ae176ad5464ea37c');
INSERT INTO public.records VALUES (49, '2026-12-07T11:14:02.811936+00:00', 'approval', 'billing', NULL, '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, NULL, 'refunds', 'approval request apr_2543af32a44127ca created', NULL, 48, NULL, '{"id": "apr_2543af32a44127ca", "from": null, "status": "pending", "decided_by": null, "digest": "aea7e6ac35f22d352bc87a3cf0fc918f3e9e351ffa8e1e6d640bf50e4cd2dfd4", "expires": "2026-12-07T12:14:02.811702+00:00", "shown": "1686a1bbe26fe7fc38d1b46116d3eb8f90b75931734311bb8cd4a1af322882f4"}', '5917dfbb05fd9525d81443a32926abdcf2e7c04e6ebe4c07ae176ad5464ea37c', '13cbfa55910b65ea9ba15586102d7a73c89ccd8d9b1e5eed25d660fbaec39b7f');
INSERT INTO public.records VALUES (47, '2026-12-07T11:14:02.806514+00:00', 'outcome', 'billing', 'python', '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, 'allow', 'refunds', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 45, 'ran', NULL, '4399aa78aca8ee2255b80ea9cc55ad7cf6205baaf587fe8a9bc3abc4874ea9bb', '3d6076cf204df7e06a8c0a5f38a14c2181561b2d5f7e37d3f00bc544b8ea9229');
INSERT INTO public.records VALUES (50, '2026-12-07T11:14:02.814317+00:00', 'outcome', 'billing', 'python', '<lambda>', 'payments.refund', NULL, NULL, NULL, NULL, 0, 0, 'require_approval', 'refunds', NULL, '0a1da3e3600008dafdef58a784371ff8c786eaedddddaf24819eab990fec35f5', 48, 'held', NULL, '13cbfa55910b65ea9ba15586102d7a73c89ccd8d9b1e5eed25d660fbaec39b7f', '453f3cf3ca0b61b7c97c2ba12b5d7e9c20a99d092dba2e75dfbf5b0b6f32ee1c');


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_version VALUES (4);


--
-- Data for Name: usage; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Name: approvals approvals_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.approvals
    ADD CONSTRAINT approvals_pkey PRIMARY KEY (id);


--
-- Name: flush_ticks flush_ticks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flush_ticks
    ADD CONSTRAINT flush_ticks_pkey PRIMARY KEY (pid);


--
-- Name: meta meta_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.meta
    ADD CONSTRAINT meta_pkey PRIMARY KEY (key);


--
-- Name: policies policies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.policies
    ADD CONSTRAINT policies_pkey PRIMARY KEY (digest);


--
-- Name: records records_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_pkey PRIMARY KEY (seq);


--
-- Name: approvals_digest; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX approvals_digest ON public.approvals USING btree (digest, status);


--
-- Name: approvals_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX approvals_status ON public.approvals USING btree (status, expires);


--
-- Name: records_approvals_ref; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_approvals_ref ON public.records USING btree (ref, seq) WHERE (kind = 'approval'::text);


--
-- Name: records_decisions_agent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_decisions_agent ON public.records USING btree (agent_id, ts, seq) WHERE (kind = 'decision'::text);


--
-- Name: records_decisions_call; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_decisions_call ON public.records USING hash (detail) WHERE ((kind = 'decision'::text) AND (strpos(detail, '"call_id"'::text) > 0));


--
-- Name: records_decisions_capability; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_decisions_capability ON public.records USING btree (capability, ts, seq) WHERE (kind = 'decision'::text);


--
-- Name: records_decisions_decision; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_decisions_decision ON public.records USING btree (decision, ts, seq) WHERE (kind = 'decision'::text);


--
-- Name: records_decisions_tool; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_decisions_tool ON public.records USING btree (tool, ts, seq) WHERE (kind = 'decision'::text);


--
-- Name: records_decisions_ts; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_decisions_ts ON public.records USING btree (ts, seq) WHERE (kind = 'decision'::text);


--
-- Name: records_outcomes_ref; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX records_outcomes_ref ON public.records USING btree (ref, seq) WHERE (kind = 'outcome'::text);


--
-- Name: usage_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usage_key ON public.usage USING btree (key, ts) INCLUDE (amount);


--
-- PostgreSQL database dump complete
--


