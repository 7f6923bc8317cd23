DROP TABLE identity_requests;
