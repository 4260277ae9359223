"""The Python stubs in use are generated from proto/genproto/generator.proto, and keep the original's wire contract."""

from pathlib import Path

from genproto import generator_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"


def test_stubs_match_the_proto_file(tmp_path: Path) -> None:
    out = tmp_path / "generator.desc"
    args = ["protoc", f"-I{PROTO_DIR}", f"--descriptor_set_out={out}", "genproto/generator.proto"]
    assert protoc.main(args) == 0
    fresh = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    for message in fresh.message_type:  # protoc adds json names; the embedded descriptor omits them
        for field in message.field:
            field.ClearField("json_name")
    in_use = descriptor_pb2.FileDescriptorProto.FromString(generator_pb2.DESCRIPTOR.serialized_pb)
    assert in_use == fresh, "run `make proto`: the stubs are out of date with generator.proto"


def test_original_fields_and_service_are_unchanged() -> None:
    request = generator_pb2.GenerateImageRequest.DESCRIPTOR
    response = generator_pb2.GenerateImageResponse.DESCRIPTOR
    assert generator_pb2.DESCRIPTOR.package == "generator"
    assert {f.name: f.number for f in request.fields if f.number <= 2} == {"positive_prompt": 1, "negative_prompt": 2}
    assert {f.name: f.number for f in response.fields if f.number <= 3} == {
        "image": 1,
        "mime_type": 2,
        "filename_hint": 3,
    }
    method = generator_pb2.DESCRIPTOR.services_by_name["ImageService"].methods_by_name["GenerateImage"]
    assert method.full_name == "generator.ImageService.GenerateImage"


def test_new_request_values_distinguish_unset_from_zero() -> None:
    request = generator_pb2.GenerateImageRequest.DESCRIPTOR
    for name in ("width", "height", "steps", "guidance_scale", "seed"):
        assert request.fields_by_name[name].has_presence, name
