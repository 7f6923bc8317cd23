DROP TABLE reporter_requests;
