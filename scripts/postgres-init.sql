-- The operational store lives in its own database and role, apart from Airflow's metadata.
CREATE ROLE lifecycle LOGIN PASSWORD 'airflow';
CREATE DATABASE lifecycle OWNER lifecycle;
